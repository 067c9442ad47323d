package sandbox_test

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/fuel"
)

// BenchmarkTiers measures what the tiers trade (tier.go): preparing a Go
// module (3.9 MB, instrumented to 5.2 MB) for wazero's interpreter against
// compiling it and loading the compiled form from the disk cache, and a
// trivial call on each tier, fresh and warm.
//
//	go test ./sandbox -run '^$' -bench Tiers -benchtime 3x
func BenchmarkTiers(b *testing.B) {
	ctx := context.Background()
	metered, err := fuel.Instrument(hostile(b), fuel.Options{MaxMemoryPages: 16384, MaxTableElements: 1 << 18})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, tc := range []struct {
		name string
		cfg  func() (wazero.RuntimeConfig, wazero.CompilationCache)
	}{
		{"prepare/interpreter", func() (wazero.RuntimeConfig, wazero.CompilationCache) {
			return wazero.NewRuntimeConfigInterpreter(), nil
		}},
		{"prepare/compiler", func() (wazero.RuntimeConfig, wazero.CompilationCache) {
			return wazero.NewRuntimeConfigCompiler(), nil
		}},
		{"prepare/disk-cache", func() (wazero.RuntimeConfig, wazero.CompilationCache) {
			c, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			return wazero.NewRuntimeConfigCompiler().WithCompilationCache(c), c
		}},
	} {
		if tc.name == "prepare/disk-cache" { // fill it
			cfg, c := tc.cfg()
			rt := wazero.NewRuntimeWithConfig(ctx, cfg)
			if _, err := rt.CompileModule(ctx, metered); err != nil {
				b.Fatal(err)
			}
			_ = rt.Close(ctx)
			_ = c.Close(ctx)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				cfg, c := tc.cfg()
				rt := wazero.NewRuntimeWithConfig(ctx, cfg)
				if _, err := rt.CompileModule(ctx, metered); err != nil {
					b.Fatal(err)
				}
				_ = rt.Close(ctx)
				if c != nil {
					_ = c.Close(ctx)
				}
			}
		})
	}
	for _, tc := range []struct {
		name        string
		fresh, held bool
		wasm        []byte
		tool, args  string
	}{
		{"call/go/interpreter-fresh", true, true, hostile(b), "count", `{}`},
		{"call/go/compiled-fresh", true, false, hostile(b), "count", `{}`},
		{"call/go/compiled-warm", false, false, hostile(b), "count", `{}`},
		{"call/wat/interpreter", true, true, testmodules.WAT(b, "toolkits/wat/echo.wasm"), "echo", `{"text":"a"}`},
		{"call/wat/compiled", true, false, testmodules.WAT(b, "toolkits/wat/echo.wasm"), "echo", `{"text":"a"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEngine(b, sandbox.Config{CacheDir: b.TempDir(), FreshInstances: tc.fresh})
			var m *sandbox.Module
			if tc.held {
				defer e.HoldCompiles()()
				var err error
				if m, err = e.Load(ctx, tc.wasm); err != nil {
					b.Fatal(err)
				}
			} else {
				m = load(b, e, tc.wasm)
			}
			req := sandbox.Request{Tool: tc.tool, Args: []byte(tc.args), Limits: limits()}
			for b.Loop() {
				res, err := e.Call(ctx, m, req)
				if err != nil || res.Outcome != sandbox.OutcomeOK {
					b.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
				}
			}
			if e.Native(m) == tc.held {
				b.Fatalf("native = %v", e.Native(m))
			}
		})
	}
}
