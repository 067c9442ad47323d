package mcphost_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type echoIn struct {
	Text string `json:"text" jsonschema:"Text to echo"`
}

type echoOut struct {
	Text   string `json:"text"`
	Length int    `json:"length"`
}

// nativeServer is the baseline: the same echo tool as a Go function in a
// plain go-sdk server, with the same transport options as Kiln's.
func nativeServer(b *testing.B) string {
	s := mcp.NewServer(&mcp.Implementation{Name: "native", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echoes text with its length"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
			return nil, echoOut{Text: in.Text, Length: utf8.RuneCountInString(in.Text)}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}
