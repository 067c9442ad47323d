package mcphost

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestSDKLogsQuietAtInfo: a session with the SDK's server writes nothing
// to a log at INFO (serve's default), and its lines are there, marked as
// the SDK's, at DEBUG; the SDK's errors stay errors.
func TestSDKLogsQuietAtInfo(t *testing.T) {
	session := func(level slog.Level) string {
		var buf bytes.Buffer
		log := sdkLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})))
		server := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, &mcp.ServerOptions{Logger: log})
		ct, st := mcp.NewInMemoryTransports()
		ctx := context.Background()
		ss, err := server.Connect(ctx, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.Close(); err != nil {
			t.Fatal(err)
		}
		_ = ss.Wait()
		log.Error("an error of the SDK")
		return buf.String()
	}
	info := session(slog.LevelInfo)
	if strings.Contains(info, "level=INFO") || strings.Contains(info, "level=DEBUG") || !strings.Contains(info, "level=ERROR") {
		t.Fatalf("at INFO the SDK logged:\n%s", info)
	}
	if debug := session(slog.LevelDebug); !strings.Contains(debug, "level=DEBUG") || !strings.Contains(debug, "component=mcp-sdk") {
		t.Fatalf("at DEBUG the SDK's lines are missing:\n%s", debug)
	}
}
