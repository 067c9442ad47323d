package mcphost

import (
	"context"
	"log/slog"
)

// sdkLogger is the logger the go-sdk server and HTTP handler get. The SDK
// logs each stateless request's connect, initialize and disconnect at
// INFO, which would put four lines per MCP request in a node's log; Kiln
// logs the calls that matter itself (the execution log, stopped calls).
// So the SDK's INFO lines become DEBUG, marked as the SDK's, and its
// warnings and errors (a connection that failed, an invalid tool) stay
// what they are.
func sdkLogger(l *slog.Logger) *slog.Logger {
	return slog.New(demoteInfo{l.Handler()}).With("component", "mcp-sdk")
}

// demoteInfo passes records to h with INFO (and below) lowered to DEBUG.
type demoteInfo struct{ h slog.Handler }

func demote(level slog.Level) slog.Level {
	if level <= slog.LevelInfo {
		return slog.LevelDebug
	}
	return level
}

func (d demoteInfo) Enabled(ctx context.Context, level slog.Level) bool {
	return d.h.Enabled(ctx, demote(level))
}

func (d demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demoteInfo) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteInfo{d.h.WithAttrs(attrs)}
}

func (d demoteInfo) WithGroup(name string) slog.Handler { return demoteInfo{d.h.WithGroup(name)} }
