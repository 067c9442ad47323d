package mcphost_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// Fixture modules, built once per test binary.
var builds testmodules.Builds

// testEngine is shared by every test: compiling a Go module takes about a
// second, and the engine's caches make the next load of it cheap.
var testEngine *sandbox.Engine

func TestMain(m *testing.M) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mcphost-cache-")
	if err != nil {
		panic(err)
	}
	if testEngine, err = sandbox.NewEngine(ctx, sandbox.Config{CacheDir: dir}); err != nil {
		panic(err)
	}
	code := m.Run()
	if err := testEngine.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "closing the engine:", err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(testmodules.LeakCheck(code))
}

func toolsModule(t testing.TB) []byte { return builds.Go(t, "pkg/mcphost/testdata/tools") }

func conformanceModule(t testing.TB) []byte {
	return builds.Go(t, "pkg/mcphost/testdata/conformance")
}

func conformanceWATModule(t testing.TB) []byte {
	return testmodules.WAT(t, "pkg/mcphost/testdata/wat/conformance.wasm")
}

// Test plans: one that runs out of fuel before its deadline, one whose
// deadline comes first, and one generous enough for benchmarks.
var (
	fuelPlan = tier.Plan{Name: "fuel-test", Rank: 5, ServersPerCustomer: 50, ToolsPerServer: 50,
		Fuel: 60_000_000, MemoryBytes: 32 << 20, Timeout: 20 * time.Second, OutputBytes: 64 << 10,
		HTTPRequestsPerCall: 0, CallsPerMinute: 1000}
	timePlan = tier.Plan{Name: "time-test", Rank: 6, ServersPerCustomer: 50, ToolsPerServer: 50,
		Fuel: 1 << 50, MemoryBytes: 32 << 20, Timeout: 400 * time.Millisecond, OutputBytes: 64 << 10,
		HTTPRequestsPerCall: 0, CallsPerMinute: 1000}
	bigPlan = tier.Plan{Name: "big-test", Rank: 7, ServersPerCustomer: 50, ToolsPerServer: 50,
		Fuel: 1 << 40, MemoryBytes: 64 << 20, Timeout: 30 * time.Second, OutputBytes: 1 << 20,
		HTTPRequestsPerCall: 0, CallsPerMinute: 1_000_000}
)

// env is one Kiln host on a store, served over real HTTP on 127.0.0.1.
type env struct {
	t       testing.TB
	store   *store.Store
	catalog *tier.Catalog
	box     *secrets.Box
	host    *mcphost.Host
	srv     *httptest.Server
}

type envOptions struct {
	limiter  ratelimit.Limiter
	ipLimit  int
	resync   time.Duration
	payloads bool
	box      *secrets.Box
	engine   *sandbox.Engine // nil: testEngine
	// egress and egressOptions are the host's egress policy and client
	// options (tests that reach 127.0.0.1).
	egress         egress.Policy
	egressOptions  []egress.Option
	recordingBytes int
	inputs         mcphost.InputLimits
}

func newEnv(t testing.TB, s *store.Store, opts envOptions) *env {
	t.Helper()
	ctx := context.Background()
	catalog := tier.NewCatalog(s)
	for _, p := range []tier.Plan{fuelPlan, timePlan, bigPlan} {
		if err := catalog.SetPlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	box := opts.box
	if box == nil {
		box = newBox(t)
	}
	if opts.resync == 0 {
		opts.resync = -1 // tests of convergence set it
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg := mcphost.Config{
		Store: s, Engine: cmp.Or(opts.engine, testEngine), Catalog: catalog, Secrets: box,
		PublicURL: "http://" + srv.Listener.Addr().String(),
		Logger:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Limiter:   opts.limiter, IPRequestsPerMinute: opts.ipLimit,
		ResyncInterval: opts.resync, Egress: opts.egress, EgressOptions: opts.egressOptions, RecordingBytes: opts.recordingBytes,
		Inputs: opts.inputs,
	}
	if opts.payloads {
		cfg.RecordPayloads = func(store.Server) bool { return true }
	}
	host, err := mcphost.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp/", host.Handler())
	srv.Config.Handler = mux
	srv.Start()
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- host.Run(runCtx) }()
	select {
	case <-host.Loaded():
	case <-time.After(30 * time.Second):
		t.Fatal("the host did not finish its startup load")
	}
	t.Cleanup(func() {
		srv.Close()
		if err := host.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &env{t: t, store: s, catalog: catalog, box: box, host: host, srv: srv}
}

func newBox(t testing.TB) *secrets.Box {
	key, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// testWriter sends the host's warnings and errors to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// server is a deployed test server with a key scoped to it.
type server struct {
	store.Server
	key string
}

// toolSpec adds one tool: module wasm's tool moduleTool, served as name.
type toolSpec struct {
	name, moduleTool string
	wasm             []byte
}

// addServer creates a customer on plan, a server with tools and a key for
// it, directly in the store, as the API would.
func (e *env) addServer(plan string, tools ...toolSpec) server {
	e.t.Helper()
	ctx := context.Background()
	cust := store.Customer{Name: "test customer", Tier: plan}
	if err := e.store.CreateCustomer(ctx, &cust); err != nil {
		e.t.Fatal(err)
	}
	return e.addServerFor(cust.ID, tools...)
}

func (e *env) addServerFor(customerID string, tools ...toolSpec) server {
	e.t.Helper()
	srv := e.addServerRows(customerID, tools...)
	// As the API does after every change.
	if err := e.host.Reload(context.Background(), srv.ID); err != nil {
		e.t.Fatal(err)
	}
	return srv
}

// addServerRows creates the rows only: no node hears of them.
func (e *env) addServerRows(customerID string, tools ...toolSpec) server {
	e.t.Helper()
	ctx := context.Background()
	srv := store.Server{CustomerID: customerID, Name: "server-" + strings.ToLower(rand.Text()[:8])}
	if err := e.store.CreateServer(ctx, &srv, func(int) error { return nil }); err != nil {
		e.t.Fatal(err)
	}
	for _, spec := range tools {
		e.addTool(srv.ID, spec)
	}
	return server{Server: srv, key: e.addKey(customerID, &srv.ID)}
}

func (e *env) addTool(serverID string, spec toolSpec) {
	e.t.Helper()
	ctx := context.Background()
	payload, found, err := manifest.Extract(spec.wasm)
	if err != nil || !found {
		e.t.Fatalf("fixture has no manifest: %v", err)
	}
	m := store.Module{Manifest: store.JSON(payload)}
	if err := e.store.PutModule(ctx, &m, spec.wasm); err != nil {
		e.t.Fatal(err)
	}
	code := "package main"
	tool := store.Tool{ServerID: serverID, Name: spec.name}
	v := store.ToolVersion{ModuleHash: m.Hash, ModuleTool: spec.moduleTool, Source: store.SourceGo, SourceCode: &code, CreatedBy: "test"}
	if err := e.store.CreateTool(ctx, &tool, &v, func(int) error { return nil }); err != nil {
		e.t.Fatal(err)
	}
}

// addKey creates an API key; serverID nil makes an account-wide one.
func (e *env) addKey(customerID string, serverID *string) string {
	e.t.Helper()
	secret := apikey.Prefix + strings.ToLower(rand.Text())
	k := store.APIKey{CustomerID: customerID, ServerID: serverID, Name: "test", Prefix: secret[:12], Hash: store.HashAPIKey(secret)}
	if err := e.store.CreateAPIKey(context.Background(), &k); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *env) url(serverID string) string { return e.srv.URL + "/mcp/" + serverID }

// headers adds fixed headers to every request of a client.
type headers struct {
	h    http.Header
	base http.RoundTripper
}

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.h {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

// connect opens an MCP client session with the go-sdk client.
func connect(t testing.TB, url, key string, extra ...string) *mcp.ClientSession {
	t.Helper()
	h := http.Header{}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "kiln-test", Version: "1"}, nil)
	session, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: headers{h, http.DefaultTransport}},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(func() { session.Close() })
	return session
}

func call(t testing.TB, s *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("calling %s: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// rawPost sends one JSON-RPC message and returns the response.
func rawPost(t testing.TB, url, key, body string, extra ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func listBody(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list","params":{}}`, id)
}

// executions reads a server's execution log, newest first.
func (e *env) executions(srv server) []store.Execution {
	e.t.Helper()
	if err := e.host.FlushExecutions(context.Background()); err != nil { // written after the answers
		e.t.Fatal(err)
	}
	out, err := e.store.ListExecutions(context.Background(), store.ExecutionFilter{CustomerID: srv.CustomerID, ServerID: srv.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
