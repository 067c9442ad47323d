package service

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// TestRequestIDOnLogLines: a safe client id is kept, an unsafe or long one
// is replaced, and the id is on the lines logged with the request's context.
func TestRequestIDOnLogLines(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(NewLogHandler(&out, config.Observe{LogFormat: config.LogJSON, LogLevel: "debug"}))
	h := withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.DebugContext(r.Context(), "handled")
	}))
	for _, tc := range []struct{ sent, want string }{
		{"abc-123.x_y:z", "abc-123.x_y:z"},
		{"", ""},
		{"bad id\" level=ERROR", ""},
		{strings.Repeat("a", maxRequestIDLen+1), ""},
	} {
		out.Reset()
		req := httptest.NewRequest("GET", "/", nil)
		if tc.sent != "" {
			req.Header.Set(RequestIDHeader, tc.sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(RequestIDHeader)
		if tc.want != "" && got != tc.want || tc.want == "" && (got == tc.sent || len(got) != 24) {
			t.Errorf("sent %q: id %q", tc.sent, got)
		}
		var line map[string]any
		if err := json.Unmarshal(out.Bytes(), &line); err != nil || line["request_id"] != got {
			t.Errorf("sent %q: log line %s (%v), want request_id %q", tc.sent, out.String(), err, got)
		}
	}
}

// TestRequestIDOnMCPErrorLines: a line an MCP request's error path logs
// deep in mcphost (here the API key check, with the database gone) carries
// the request's id, through the node's real handler and log handler.
func TestRequestIDOnMCPErrorLines(t *testing.T) {
	var out testmodules.LockedBuffer
	logger := slog.New(NewLogHandler(&out, config.Observe{LogFormat: config.LogJSON, LogLevel: "debug"}))
	svc := newLoggedNode(t, logger)
	if err := svc.Store.Close(); err != nil { // Close closes it again, which is allowed
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/mcp/srv_abcdefgh234567", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer kiln_notarealkey")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(RequestIDHeader, "mcp-req-42")
	rec := httptest.NewRecorder()
	svc.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("MCP request with the database closed: %d %s", rec.Code, rec.Body)
	}
	found := false
	for _, raw := range bytes.Split(out.Bytes(), []byte("\n")) {
		var line map[string]any
		if json.Unmarshal(raw, &line) != nil || line["msg"] != "checking an API key" {
			continue
		}
		found = true
		if line["request_id"] != "mcp-req-42" || line["level"] != "ERROR" {
			t.Errorf("mcphost's error line: %s; want level ERROR and request_id mcp-req-42", raw)
		}
	}
	if !found {
		t.Fatalf("no line about the API key check in the log:\n%s", out.Bytes())
	}
}

// newLoggedNode builds a development node on SQLite, configured as
// servicetest does (which a test of this package cannot import), that
// logs to logger. It is closed when the test ends.
func newLoggedNode(t *testing.T, logger *slog.Logger) *Service {
	t.Helper()
	getenv := func(name string) string {
		if name == "KILN_DEV_LIBRARY" {
			return "false"
		}
		return ""
	}
	var cfg config.Config
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	cfg.RegisterServe(fs, getenv)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	resolved, err := cfg.Resolve(getenv, logger)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(context.Background(), Options{Config: &cfg, Resolved: resolved, Getenv: getenv, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := svc.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return svc
}
