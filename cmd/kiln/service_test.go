package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// runWithEnv runs a command in-process with exactly the given environment.
func runWithEnv(t *testing.T, vars map[string]string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: func(name string) string { return vars[name] }}
	status = dispatch(env, args)
	return status, out.String(), errOut.String()
}

// TestServeRefusesProductionWithoutSecrets: production mode without a
// master key (or an operator token, or an https public URL) exits non-zero
// with a sentence that names what is missing, before touching the data dir.
func TestServeRefusesProductionWithoutSecrets(t *testing.T) {
	key, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	token := strings.Repeat("t", 40)
	for _, tc := range []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"no master key", map[string]string{"KILN_OPERATOR_TOKEN": token, "KILN_PUBLIC_URL": "https://kiln.example.com"},
			[]string{"KILN_MASTER_KEY is not set"}},
		{"nothing", map[string]string{},
			[]string{"KILN_MASTER_KEY is not set", "KILN_OPERATOR_TOKEN is not set", "KILN_PUBLIC_URL"}},
		{"http public URL", map[string]string{"KILN_MASTER_KEY": key.Base64(), "KILN_OPERATOR_TOKEN": token, "KILN_PUBLIC_URL": "http://kiln.example.com"},
			[]string{"must be an https URL in production"}},
		{"no operator token", map[string]string{"KILN_MASTER_KEY": key.Base64(), "KILN_PUBLIC_URL": "https://kiln.example.com"},
			[]string{"KILN_OPERATOR_TOKEN is not set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			tc.vars["KILN_ENV"] = "production"
			tc.vars["KILN_DATA_DIR"] = dataDir
			status, _, stderr := runWithEnv(t, tc.vars, "serve")
			if status == 0 {
				t.Fatal("production mode started")
			}
			if !strings.Contains(stderr, "kiln serve: production mode (KILN_ENV=production) refuses to start: ") {
				t.Errorf("no clear sentence:\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, key.Base64()) {
				t.Error("the master key was printed")
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("the data dir was touched: %v", err)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServeMigratesAndServesTheAPI starts the service in development mode
// with zero configuration: it generates its secrets, migrates the embedded
// database and answers the operator API with the generated token.
func TestServeMigratesAndServesTheAPI(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	// No drain delay: nothing balances load onto this node.
	cfg := config.Config{Addr: addr, DataDir: dataDir, Env: config.Development, BuildWorkers: 1, Drain: config.Drain{Delay: time.Millisecond}}
	logs := &syncWriter{w: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	resolved, err := cfg.Resolve(func(string) string { return "" }, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, &cfg, resolved, func(string) string { return "" }, logger) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	var res *http.Response
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if res, err = http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
	}
	if err != nil {
		t.Fatalf("never answered: %v", err)
	}
	token, err := os.ReadFile(filepath.Join(dataDir, config.OperatorTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/admin/customers", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"items":[]`) {
		t.Fatalf("operator API: %d %s", res.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "database migrated") || !strings.Contains(logs.String(), "generated an operator token") {
		t.Errorf("log:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, store.SQLiteFile)); err != nil {
		t.Errorf("no SQLite database in the data dir: %v", err)
	}
}

// syncWriter serializes writes from the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

func TestMigrate(t *testing.T) {
	dataDir := t.TempDir()
	for range 2 { // applying again is a no-op
		status, stdout, stderr := runWithEnv(t, map[string]string{"KILN_DATA_DIR": dataDir}, "migrate")
		if status != 0 || !strings.HasPrefix(stdout, "0001_init\tapplied ") {
			t.Fatalf("migrate: %d\n%s\n%s", status, stdout, stderr)
		}
	}
	if url, ok := storetest.PostgresURL(t); ok {
		status, stdout, stderr := runWithEnv(t, map[string]string{"KILN_DATABASE_URL": url, "KILN_DATA_DIR": t.TempDir()}, "migrate")
		if status != 0 || !strings.HasPrefix(stdout, "0001_init\tapplied ") {
			t.Fatalf("migrate on PostgreSQL: %d\n%s\n%s", status, stdout, stderr)
		}
	}
	status, _, stderr := runWithEnv(t, map[string]string{"KILN_DATABASE_URL": "mysql://x"}, "migrate")
	if status != 1 || !strings.Contains(stderr, "unsupported database URL scheme") {
		t.Fatalf("bad URL: %d %s", status, stderr)
	}
}

func TestSubcommandHelp(t *testing.T) {
	for group, subs := range map[string][]string{
		"admin":   {"create-customer", "customers", "set-tier", "create-key", "keys", "revoke-key", "create-client", "clients", "delete-client", "rotate-keys", "signing-keys", "audit"},
		"library": {"keygen", "sign", "verify", "push", "list", "deprecate", "set-min-tier"},
	} {
		status, _, stderr := runWithEnv(t, nil, group, "--help")
		if status != 0 || !strings.Contains(stderr, "Usage: kiln "+group+" <command>") {
			t.Errorf("%s --help: %d %s", group, status, stderr)
		}
		for _, sub := range subs {
			if !strings.Contains(stderr, "  "+sub+" ") {
				t.Errorf("%s --help does not list %s", group, sub)
			}
			status, _, stderr := runWithEnv(t, nil, group, sub, "--help")
			if status != 0 || !strings.Contains(stderr, fmt.Sprintf("Usage: kiln %s %s", group, sub)) {
				t.Errorf("%s %s --help: %d %s", group, sub, status, stderr)
			}
		}
		if status, _, _ := runWithEnv(t, nil, group); status != exitUsage {
			t.Errorf("bare %s: status %d", group, status)
		}
		if status, _, stderr := runWithEnv(t, nil, group, "frobnicate"); status != exitUsage || !strings.Contains(stderr, "unknown command") {
			t.Errorf("%s frobnicate: %d %s", group, status, stderr)
		}
	}
	for _, cmd := range []string{"migrate", "admin", "library"} {
		if _, stdout, _ := runWithEnv(t, nil, "--help"); !strings.Contains(stdout, "  "+cmd+" ") {
			t.Errorf("kiln --help does not list %s", cmd)
		}
	}
	if status, _, stderr := runWithEnv(t, nil, "migrate", "--help"); status != 0 || !strings.Contains(stderr, "Usage: kiln migrate") {
		t.Errorf("migrate --help: %d %s", status, stderr)
	}
}
