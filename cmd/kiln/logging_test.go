package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// TestJSONLogEveryLine runs the service wiring with KILN_LOG_FORMAT=json at
// debug and checks that every line it, its libraries (zitadel's op, the
// go-sdk) and the standard log package print is one JSON object.
func TestJSONLogEveryLine(t *testing.T) {
	vars := map[string]string{"KILN_LOG_FORMAT": "json", "KILN_LOG_LEVEL": "debug", "KILN_DATA_DIR": t.TempDir(), "KILN_ADDR": "127.0.0.1:1"}
	getenv := func(name string) string { return vars[name] }
	var cfg config.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.RegisterServe(fs, getenv)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var stderr testmodules.LockedBuffer
	logger, restore := setupLogging(&stderr, cfg.Observe)
	defer restore()
	resolved, err := cfg.Resolve(getenv, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := service.New(ctx, service.Options{Config: &cfg, Resolved: resolved, Getenv: getenv, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	for _, path := range []string{"/healthz", "/.well-known/openid-configuration", "/mcp/srv_nosuch"} {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("X-Request-Id", "client-id-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-Id"); got != "client-id-1" {
			t.Errorf("%s: X-Request-Id = %q, want the client's", path, got)
		}
	}
	log.Print("from the standard log package")
	srv.Close()
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	restore()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var sawStdlog, sawRequest bool
	for _, line := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("not one JSON object: %q (%v)", line, err)
		}
		if obj["msg"] == "from the standard log package" && obj["level"] == "INFO" {
			sawStdlog = true
		}
		if obj["msg"] == "request" {
			sawRequest = true
			if obj["request_id"] != "client-id-1" || obj["level"] != "DEBUG" {
				t.Errorf("a request's line without its id, or not at DEBUG: %s", line)
			}
		}
	}
	if !sawRequest {
		t.Errorf("no request line at DEBUG:\n%s", stderr.String())
	}
	if !sawStdlog || len(lines) < 2 {
		t.Errorf("the standard log package's line is missing:\n%s", stderr.String())
	}
	t.Logf("%d lines, all JSON", len(lines))
}

func TestLogSettingsRejected(t *testing.T) {
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--metrics-addr", "nope"}} {
		status, _, stderr := runKiln(t, append([]string{"serve"}, args...)...)
		if status != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: status %d, %q", args, status, stderr)
		}
	}
}
