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
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// Options adjust the node. The zero value is a development node on SQLite.
type Options struct {
	// Postgres runs the node on a PostgreSQL schema of its own (the test
	// is skipped when storetest.EnvURL is not set, and fails when it is
	// set and the server is unreachable).
	Postgres bool
	// Env are KILN_* settings, as the environment would give them.
	// KILN_DEV_LIBRARY is false unless set here: building the curated
	// library takes a minute, which only the tests about it want.
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
	getenv := func(name string) string {
		if v, ok := opts.Env[name]; ok || name != "KILN_DEV_LIBRARY" {
			return v
		}
		return "false"
	}
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

// SignLibrary signs module with the node's development library key (the
// key it trusts), as kiln library sign does, and returns the signature
// file's bytes.
func (n *Node) SignLibrary(t testing.TB, module []byte) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(n.DataDir, config.LibraryKeyFile))
	if err != nil {
		t.Fatalf("servicetest: the development library key: %v", err)
	}
	key, err := signing.ParsePrivateKey(string(text))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signing.Sign(key, module)
	if err != nil {
		t.Fatal(err)
	}
	return sig.Marshal()
}

// PublishLibrary signs module and uploads it through the operator API as
// name@version for minTier and the plans above, as kiln library push does.
func (n *Node) PublishLibrary(t testing.TB, name, version, minTier string, module []byte) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, f := range [][2]string{{"name", name}, {"version", version}, {"min_tier", minTier}} {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []struct {
		part string
		data []byte
	}{{"module", module}, {"signature", n.SignLibrary(t, module)}} {
		part, err := w.CreateFormFile(f.part, f.part+".bin")
		if err == nil {
			_, err = part.Write(f.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", n.URL+"/api/v1/admin/library", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+n.OperatorToken)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("servicetest: publishing %s@%s: %s %s", name, version, resp.Status, msg)
	}
}

// testWriter sends the node's warnings to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
