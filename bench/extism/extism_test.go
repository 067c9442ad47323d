package extism_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	extism "github.com/extism/go-sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/tetratelabs/wazero"

	"github.com/kilnhq/kiln/bench/mcpload"
)

type echoIn struct {
	Text string `json:"text"`
}

type echoOut struct {
	Text   string `json:"text"`
	Length int    `json:"length"`
}

// buildPlugin compiles ./plugin to a WASI reactor, as Extism's Go PDK
// documents for Go 1.24 and later.
func buildPlugin(t testing.TB) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plugin.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./plugin")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func compile(t testing.TB, wasm []byte) *extism.CompiledPlugin {
	t.Helper()
	ctx := context.Background()
	cp, err := extism.NewCompiledPlugin(ctx, extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm}}},
		extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfigCompiler()}, nil)
	if err != nil {
		t.Fatalf("compiling the plugin: %v", err)
	}
	t.Cleanup(func() { cp.Close(ctx) })
	return cp
}

func instance(ctx context.Context, cp *extism.CompiledPlugin) (*extism.Plugin, error) {
	return cp.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: wazero.NewModuleConfig()})
}

// reused hands out long-lived instances, one per concurrent call: Extism's
// usual way to serve many calls, and the one its published call latencies
// measure. Calls on one instance see each other's state.
type reused chan *extism.Plugin

func newReused(t testing.TB, cp *extism.CompiledPlugin, n int) reused {
	t.Helper()
	r := make(reused, n)
	for range n {
		p, err := instance(context.Background(), cp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(context.Background()) })
		r <- p
	}
	return r
}

func (r reused) call(ctx context.Context, fn string, in []byte) ([]byte, error) {
	p := <-r
	defer func() { r <- p }()
	return callPlugin(ctx, p, fn, in)
}

// fresh instantiates the compiled plugin for every call and closes it
// after: the isolation Kiln gives every call.
type fresh struct{ cp *extism.CompiledPlugin }

func (f fresh) call(ctx context.Context, fn string, in []byte) ([]byte, error) {
	p, err := instance(ctx, f.cp)
	if err != nil {
		return nil, err
	}
	defer p.Close(ctx)
	return callPlugin(ctx, p, fn, in)
}

func callPlugin(ctx context.Context, p *extism.Plugin, fn string, in []byte) ([]byte, error) {
	rc, out, err := p.CallWithContext(ctx, fn, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	if rc != 0 {
		return nil, fmt.Errorf("%s returned %d: %s", fn, rc, out)
	}
	return out, nil
}

type caller interface {
	call(ctx context.Context, fn string, in []byte) ([]byte, error)
}

// serve runs a stateless go-sdk server whose echo tool is handler, on
// 127.0.0.1, and returns a connected client.
func serve(t testing.TB, handler func(ctx context.Context, in echoIn) (echoOut, error)) *mcp.ClientSession {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echoes text with its length"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
			out, err := handler(ctx, in)
			return nil, out, err
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := mcp.NewClient(&mcp.Implementation{Name: "bench-client", Version: "1"}, nil)
	session, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { session.Close() })
	return session
}

func nativeEcho(_ context.Context, in echoIn) (echoOut, error) {
	return echoOut{Text: in.Text, Length: utf8.RuneCountInString(in.Text)}, nil
}

// pluginEcho is the echo tool backed by an Extism plugin.
func pluginEcho(c caller) func(context.Context, echoIn) (echoOut, error) {
	return func(ctx context.Context, in echoIn) (echoOut, error) {
		data, err := json.Marshal(in)
		if err != nil {
			return echoOut{}, err
		}
		raw, err := c.call(ctx, "echo", data)
		if err != nil {
			return echoOut{}, err
		}
		var out echoOut
		return out, json.Unmarshal(raw, &out)
	}
}

// TestPluginEcho keeps the benchmark honest: both set-ups answer like the
// native tool, and only the fresh one forgets between calls.
func TestPluginEcho(t *testing.T) {
	cp := compile(t, buildPlugin(t))
	ctx := context.Background()
	setups := map[string]caller{"reused": newReused(t, cp, 1), "fresh": fresh{cp}}
	for name, c := range setups {
		got, err := pluginEcho(c)(ctx, echoIn{Text: "héllo"})
		if want := (echoOut{Text: "héllo", Length: 5}); err != nil || got != want {
			t.Errorf("%s: echo = %+v, %v; want %+v", name, got, err, want)
		}
		var counts []string
		for range 3 {
			out, err := c.call(ctx, "count", nil)
			if err != nil {
				t.Fatalf("%s: count: %v", name, err)
			}
			counts = append(counts, string(out))
		}
		want := map[string]string{"reused": "1 2 3", "fresh": "1 1 1"}[name]
		if got := strings.Join(counts, " "); got != want {
			t.Errorf("%s: count over three calls = %s, want %s", name, got, want)
		}
	}
}

// BenchmarkExtism measures, in one run, MCP tools/call over HTTP of the
// echo tool served by a native go-sdk server with the tool as a Go
// function, and by go-sdk servers running it as an Extism plugin: on
// reused instances (Extism's usual set-up; calls share state) and on a
// fresh instance per call (isolated, as every Kiln call is). With
// EXTISM_BENCH_RESULTS set it writes the table there (task bench-extism):
//
//	go test -run '^$' -bench Extism -benchtime 400x
func BenchmarkExtism(b *testing.B) {
	cp := compile(b, buildPlugin(b))
	args := map[string]any{"text": "hello, benchmark"}
	targets := []mcpload.Target{
		{Name: "(a) native go-sdk, echo", Tool: "echo", Args: args, Session: serve(b, nativeEcho), Base: 0},
		{Name: "(b) Extism, reused instances (no isolation)", Tool: "echo", Args: args, Session: serve(b, pluginEcho(newReused(b, cp, 8))), Base: 0},
		{Name: "(b) Extism, fresh instance per call", Tool: "echo", Args: args, Session: serve(b, pluginEcho(fresh{cp})), Base: 0},
	}
	b.ResetTimer()
	results, err := mcpload.Run(context.Background(), targets, mcpload.Options{Calls: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	for _, r := range results[1:] {
		b.Logf("%s: p50 %v (%.2f× native), calls/s with %d clients %.0f (%.2f× native)", r.Name,
			r.P50, float64(r.P50)/float64(results[0].P50), r.Clients, r.CPSN, r.CPSN/results[0].CPSN)
	}
	b.ReportMetric(0, "ns/op")
	if path := os.Getenv("EXTISM_BENCH_RESULTS"); path != "" {
		doc := fmt.Sprintf("# Extism's Go SDK, MCP tools/call over HTTP (one run)\n\n"+
			"`go test -run '^$' -bench Extism -benchtime %dx` in bench/extism on %s (Extism go-sdk %s).\n\n%s",
			b.N, time.Now().UTC().Format("2006-01-02"), extismVersion(), mcpload.Table(results))
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			b.Fatal(err)
		}
		svg := mcpload.Chart("Extism's Go SDK vs native go-sdk: MCP tools/call over HTTP, "+time.Now().UTC().Format("2006-01-02"), results)
		if err := os.WriteFile(strings.TrimSuffix(path, ".md")+".svg", svg, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func extismVersion() string { return "v1.7.1, kernel " + strings.TrimSpace(extism.RuntimeVersion()) }
