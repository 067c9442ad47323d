package service

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/pkg/config"
)

// NewLogHandler is the one handler everything a node prints goes through:
// text or JSON as o says, at o's level, with the request id of the
// request a line belongs to (when the line is logged with its context).
// o must have been validated.
func NewLogHandler(w io.Writer, o config.Observe) slog.Handler {
	level, err := o.Level()
	if err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if o.LogFormat == config.LogJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return requestIDHandler{h}
}

// requestIDHandler adds the request id (and, for a traced request, the
// trace and span ids) from a record's context, so every line of one
// request can be found by it.
type requestIDHandler struct{ h slog.Handler }

func (r requestIDHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return r.h.Enabled(ctx, level)
}

func (r requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	// A traced request's lines carry its trace, so a collector can join
	// the log to the spans.
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		rec.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return r.h.Handle(ctx, rec)
}

func (r requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{r.h.WithAttrs(attrs)}
}

func (r requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{r.h.WithGroup(name)}
}
