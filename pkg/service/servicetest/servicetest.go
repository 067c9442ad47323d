// Package servicetest starts a whole Kiln node for a test, wired by
// pkg/service exactly as `kiln serve` wires it, listening on 127.0.0.1:
//
//	node := servicetest.Start(t, servicetest.Options{Postgres: true})
//	resp := node.Do(t, "GET", "/api/v1/admin/customers", node.OperatorToken, nil)
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// Options adjust the node. The zero value is a development node on SQLite.
type Options struct {
	// Postgres runs the node on a PostgreSQL schema of its own (the test
	// is skipped when storetest.EnvURL is not set, and fails when it is
	// set and the server is unreachable).
	Postgres bool
	// Env are KILN_* settings, as the environment would give them.
	Env map[string]string
}

// Node is a running node.
type Node struct {
	// URL is the node's base URL, its public URL too.
	URL           string
	OperatorToken string
	DataDir       string
	Service       *service.Service
}

// Start runs a node until the test ends.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	getenv := func(name string) string { return opts.Env[name] }
	var cfg config.Config
	fs := flag.NewFlagSet("servicetest", flag.ContinueOnError)
	cfg.RegisterServe(fs, getenv)
	if err := fs.Parse(nil); err != nil {
		t.Fatalf("servicetest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("servicetest: %v", err)
	}
	cfg.Addr, cfg.DataDir = ln.Addr().String(), t.TempDir()
	if opts.Postgres {
		url, ok := storetest.PostgresURL(t)
		if !ok {
			ln.Close()
			t.Skipf("servicetest: %s is not set; PostgreSQL tests are skipped", storetest.EnvURL)
		}
		cfg.DatabaseURL = url
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := cfg.Validate(); err != nil {
		t.Fatalf("servicetest: %v", err)
	}
	resolved, err := cfg.Resolve(getenv, logger)
	if err != nil {
		t.Fatalf("servicetest: %v", err)
	}
	return run(t, ln, service.Options{Config: &cfg, Resolved: resolved, Getenv: getenv, Logger: logger})
}

func run(t testing.TB, ln net.Listener, opts service.Options) *Node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := service.New(ctx, opts)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("servicetest: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	srv := httptest.NewUnstartedServer(svc.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("servicetest: Run: %v", err)
		}
		if err := svc.Close(context.Background()); err != nil {
			t.Errorf("servicetest: Close: %v", err)
		}
	})
	return &Node{URL: opts.Resolved.PublicURL, OperatorToken: opts.Resolved.OperatorToken.Reveal(), DataDir: opts.Config.DataDir, Service: svc}
}

// Do sends a request with token as its bearer (none when empty) and body as
// JSON (none when nil), and returns the response with its body read.
func (n *Node) Do(t testing.TB, method, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// testWriter sends the node's warnings to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
