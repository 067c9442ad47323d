package sandbox_test

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

// BenchmarkCall measures one call of a trivial tool, each in a fresh
// instance: the per-call price of isolation.
func BenchmarkCall(b *testing.B) {
	for _, tc := range []struct{ name, tool string }{
		{"wat-echo", "echo"},
		{"go-count", "count"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEngine(b, sandbox.Config{})
			wasm := testmodules.WAT(b, "toolkits/wat/echo.wasm")
			if tc.tool == "count" {
				wasm = hostile(b)
			}
			m := load(b, e, wasm)
			req := sandbox.Request{Tool: tc.tool, Args: []byte(`{}`), Limits: limits()}
			for b.Loop() {
				res, err := e.Call(context.Background(), m, req)
				if err != nil || res.Outcome != sandbox.OutcomeOK {
					b.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
				}
			}
		})
	}
}

// BenchmarkColdLoad measures loading a Go module in a new engine, as a new
// process would: "compile" without any cache, "disk-cache" with wazero's
// on-disk compilation cache already filled by an earlier engine.
func BenchmarkColdLoad(b *testing.B) {
	wasm := hostile(b)
	ctx := context.Background()
	cacheDir := b.TempDir()
	warm := newEngine(b, sandbox.Config{CacheDir: cacheDir})
	load(b, warm, wasm)
	for _, tc := range []struct{ name, dir string }{{"compile", ""}, {"disk-cache", cacheDir}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				e, err := sandbox.NewEngine(ctx, sandbox.Config{CacheDir: tc.dir})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Load(ctx, wasm); err != nil {
					b.Fatal(err)
				}
				if err := e.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
