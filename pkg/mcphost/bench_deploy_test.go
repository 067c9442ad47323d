package mcphost_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// deploySource is a trivial tool; each iteration changes its constant, so
// no cache (Go's, wazero's or the shared store) already holds its module.
const deploySource = `package main

import (
	"context"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Text string ` + "`json:\"text\"`" + `
}

func echo(_ context.Context, v in) (string, error) { return v.Text + %q, nil }

func main() { kiln.Run(kiln.Module{Tools: []kiln.Tool{kiln.NewTool("echo", "Echoes text", echo)}}) }
`

// BenchmarkSourceToCallable measures issue 18's "from source to callable,
// on every node", with the tiers and without (the same run): per iteration a new trivial Go tool is built (go build
// and the describe call), stored, loaded and called on the building node;
// a second node on the same store (PostgreSQL when KILN_TEST_DATABASE_URL
// is set, else SQLite) then loads and calls it, as it would after the
// deploy's notification; both then wait for compiled code (the second
// takes the first's artifact); and an engine restarted on the building
// node's cache directory loads and calls it once (restart-first-call-ms;
// restart-call-after-load-ms is the call alone, what a call pays once the
// node's start-up resync has loaded the module). Times are ms/op metrics.
//
//	go test ./pkg/mcphost -run '^$' -bench SourceToCallable -benchtime 3x -timeout 15m
func BenchmarkSourceToCallable(b *testing.B) {
	st, ok := storetest.Postgres(b)
	if !ok {
		st = storetest.SQLite(b)
	}
	// tiered is the engine as it is; compile-first is the engine before
	// the tiers (Config.NoInterpreter, no sharing): Describe and Load each
	// compile, and so does the second node.
	for _, tc := range []struct {
		name   string
		tiered bool
	}{{"tiered", true}, {"compile-first", false}} {
		b.Run(tc.name, func(b *testing.B) { benchSourceToCallable(b, st, tc.tiered) })
	}
}

func benchSourceToCallable(b *testing.B, st *store.Store, tiered bool) {
	ctx := context.Background()
	cacheA := b.TempDir()
	box := newBox(b) // the two nodes are one cluster
	a, second := benchNode(b, st, box, cacheA, tiered), benchNode(b, st, box, b.TempDir(), tiered)
	builder := &build.GoBuilder{Engine: a, GoCache: testmodules.GoCache(b), GoCacheBytes: -1}
	var sums [8]time.Duration
	i := 0
	for b.Loop() {
		i++
		src := map[string][]byte{"main.go": fmt.Appendf(nil, deploySource, fmt.Sprintf(" %d-%d", time.Now().UnixNano(), i))}
		start := time.Now()
		wasm, err := builder.Build(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		built := time.Now()
		payload, _, err := manifest.Extract(wasm)
		if err != nil {
			b.Fatal(err)
		}
		mod := store.Module{Manifest: store.JSON(payload)}
		if err := st.PutModule(ctx, &mod, wasm); err != nil {
			b.Fatal(err)
		}
		mA := benchCall(b, a, wasm)
		callable := time.Now()
		committed := time.Now()
		data, err := st.ModuleData(ctx, mod.Hash)
		if err != nil {
			b.Fatal(err)
		}
		mB := benchCall(b, second, data)
		secondCallable := time.Now()
		if err := a.WaitCompiled(ctx, mA); err != nil {
			b.Fatal(err)
		}
		nativeA := time.Now()
		if err := second.WaitCompiled(ctx, mB); err != nil {
			b.Fatal(err)
		}
		nativeB := time.Now()
		if !a.Native(mA) || !second.Native(mB) {
			b.Fatal("not compiled after the background compile")
		}
		restart := benchNode(b, nil, nil, cacheA, tiered)
		restarted := time.Now()
		mR, err := restart.Load(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		loaded := time.Now()
		benchEcho(b, restart, mR)
		called := time.Now()
		if !restart.Native(mR) {
			b.Fatal("the restarted node did not load the compiled form from disk")
		}
		if err := restart.Close(ctx); err != nil {
			b.Fatal(err)
		}
		for j, d := range []time.Duration{built.Sub(start), callable.Sub(start), nativeA.Sub(start),
			secondCallable.Sub(committed), nativeB.Sub(committed), called.Sub(restarted), callable.Sub(built), called.Sub(loaded)} {
			sums[j] += d
		}
	}
	for j, name := range []string{"build-ms", "callable-ms", "compiled-ms", "node2-callable-ms", "node2-compiled-ms", "restart-first-call-ms", "load+call-ms", "restart-call-after-load-ms"} {
		b.ReportMetric(float64(sums[j].Microseconds())/1000/float64(i), name)
	}
	b.Logf("building node %+v; second node %+v", a.TierStats(), second.TierStats())
	if tiered && second.TierStats().Compiled != 0 {
		b.Fatalf("the second node compiled: %+v", second.TierStats())
	}
}

// benchNode is an engine on cacheDir sharing artifacts through st (none
// when st is nil); the caller or the benchmark's end closes it.
func benchNode(b *testing.B, st *store.Store, box *secrets.Box, cacheDir string, tiered bool) *sandbox.Engine {
	e, err := sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: cacheDir, NoInterpreter: !tiered})
	if err != nil {
		b.Fatal(err)
	}
	if st != nil {
		if tiered {
			if err := mcphost.ShareArtifacts(e, st, box, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.Cleanup(func() { _ = e.Close(context.Background()) })
	}
	return e
}

// benchCall loads wasm on e and calls its echo tool once.
func benchCall(b *testing.B, e *sandbox.Engine, wasm []byte) *sandbox.Module {
	m, err := e.Load(context.Background(), wasm)
	if err != nil {
		b.Fatal(err)
	}
	benchEcho(b, e, m)
	return m
}

// benchEcho calls m's echo tool once.
func benchEcho(b *testing.B, e *sandbox.Engine, m *sandbox.Module) {
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "echo", Args: []byte(`{"text":"hi"}`), Limits: sandbox.DefaultLimits()})
	if err != nil || res.Outcome != sandbox.OutcomeOK {
		b.Fatalf("echo: %v %v %s", err, res.Outcome, res.Detail)
	}
}
