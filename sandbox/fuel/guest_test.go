package fuel_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox/fuel"
)

var builds testmodules.Builds

// guestRuntime runs Go tool modules outside the sandbox, raw or
// instrumented, with a stub of the kiln host functions, so that the two
// forms can be compared on equal terms.
type guestRuntime struct {
	rt wazero.Runtime
}

type resultKey struct{}

// inputKey holds a reactor's call document (toolkits/ABI.md section 3.1).
type inputKey struct{}

// callDocument encodes a call with no env, as the sandbox does.
func callDocument(tool, args string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(tool)))
	b = binary.LittleEndian.AppendUint32(append(b, tool...), uint32(len(args)))
	return binary.LittleEndian.AppendUint32(append(b, args...), 0)
}

// account is a refuel host for tests: it hands out fuel in slices until
// the budget or the deadline is reached, like the sandbox does.
type account struct {
	budget, granted int64
	deadline        time.Time
	refuels         int
	stopped         bool
	last            int64 // the counter when refuel stopped the call
}

type accountKey struct{}

var errOutOfFuel = errors.New("out of fuel")

func (a *account) refuel(counter int64) int64 {
	a.refuels++
	used := a.granted - min(counter, 0)
	if used >= a.budget || !a.deadline.IsZero() && time.Now().After(a.deadline) {
		a.stopped, a.last = true, counter
		panic(errOutOfFuel)
	}
	next := min(1_000_000, a.budget-used)
	a.granted = used + next
	return next
}

// used reports the fuel consumed given the global counter's final value,
// which is stale when refuel stopped the call (the function's own counter
// local was not stored back).
func (a *account) used(counter int64) int64 {
	if a.stopped {
		counter = a.last
	}
	return a.granted - counter
}

func instantiateRefuel(t testing.TB, rt wazero.Runtime) {
	t.Helper()
	_, err := rt.NewHostModuleBuilder(fuel.ImportModule).NewFunctionBuilder().
		WithFunc(func(ctx context.Context, counter int64) int64 {
			return ctx.Value(accountKey{}).(*account).refuel(counter)
		}).Export(fuel.ImportName).Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
}

func newGuestRuntime(t testing.TB, closeOnContextDone bool) *guestRuntime {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(closeOnContextDone))
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	_, err := rt.NewHostModuleBuilder("kiln").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) {
		b, _ := m.Memory().Read(ptr, n)
		*ctx.Value(resultKey{}).(*[]byte) = append([]byte(nil), b...)
	}).Export("result").
		NewFunctionBuilder().WithFunc(func(context.Context, uint32, uint32, uint32) {}).Export("log").
		NewFunctionBuilder().WithFunc(func(context.Context, uint32, uint32) uint32 { return 0 }).Export("http_request").
		NewFunctionBuilder().WithFunc(func(context.Context, uint32) {}).Export("http_response").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr uint32) {
		m.Memory().Write(ptr, ctx.Value(inputKey{}).([]byte))
	}).Export("call_input").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	instantiateRefuel(t, rt)
	return &guestRuntime{rt: rt}
}

func (g *guestRuntime) compile(t testing.TB, wasm []byte) wazero.CompiledModule {
	t.Helper()
	c, err := g.rt.CompileModule(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call runs one tool call, charging fuel to acct (nil for a raw module),
// and returns the result and the fuel used.
func (g *guestRuntime) call(ctx context.Context, c wazero.CompiledModule, tool, args string, acct *account) (result []byte, used int64, err error) {
	ctx = context.WithValue(ctx, resultKey{}, &result)
	ctx = context.WithValue(ctx, accountKey{}, acct)
	cfg := wazero.NewModuleConfig().WithName("").WithArgs(tool).WithStdin(bytes.NewReader([]byte(args))).WithStartFunctions()
	mod, err := g.rt.InstantiateModule(ctx, c, cfg)
	if err != nil {
		return nil, 0, err
	}
	defer mod.Close(ctx)
	if start := mod.ExportedFunction("_start"); start != nil {
		_, err = start.Call(ctx)
	} else { // a reactor: initialise, then the call entry
		doc := callDocument(tool, args)
		ctx = context.WithValue(ctx, inputKey{}, doc)
		for _, name := range []string{"_initialize", "kiln_init"} {
			if err == nil {
				_, err = mod.ExportedFunction(name).Call(ctx)
			}
		}
		if err == nil {
			_, err = mod.ExportedFunction("kiln_call").Call(ctx, uint64(len(doc)))
		}
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	if acct != nil {
		used = acct.used(int64(mod.ExportedGlobal(fuel.GlobalExport).Get()))
	}
	return result, used, err
}

func instrument(t testing.TB, wasm []byte) []byte {
	t.Helper()
	out, err := fuel.Instrument(wasm, fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoModulesRunIdentically runs the toolkit examples and the benchmark
// module raw and instrumented and compares the results byte for byte.
func TestGoModulesRunIdentically(t *testing.T) {
	g := newGuestRuntime(t, false)
	cases := []struct{ dir, tool, args string }{
		{"toolkits/go/examples/wordcount", "text_stats", `{"text":"one two two three three three","top":2}`},
		{"toolkits/go/examples/wordcount", "convert_case", `{"text":"hello kiln","to":"title"}`},
		{"toolkits/go/examples/hashtext", "digest", `{"text":"abc","algorithm":"sha512"}`},
		{"toolkits/go/examples/hashtext", "base64_decode", `{"data":"not base64!"}`},
		{"sandbox/testdata/cpu", "json", `{"rounds":3}`},
		{"sandbox/testdata/cpu", "hash", `{"rounds":2}`},
		{"sandbox/testdata/cpu", "sort", `{"rounds":2}`},
	}
	for _, tc := range cases {
		wasm := builds.Go(t, tc.dir)
		raw, _, err1 := g.call(context.Background(), g.compile(t, wasm), tc.tool, tc.args, nil)
		metered, _, err2 := g.call(context.Background(), g.compile(t, instrument(t, wasm)), tc.tool, tc.args, &account{budget: 1 << 40})
		if err1 != nil || err2 != nil {
			t.Fatalf("%s %s: raw err %v, instrumented err %v", tc.dir, tc.tool, err1, err2)
		}
		if !bytes.Equal(raw, metered) || len(raw) == 0 {
			t.Errorf("%s %s:\n raw:          %s\n instrumented: %s", tc.dir, tc.tool, raw, metered)
		}
	}
}

// TestCalibration compares the fuel the segment charges take with an exact
// count of executed instructions (every instruction charged on its own) on
// real Go modules, and reports the error. One unit of fuel is meant to be
// one executed instruction that does work (see the package doc).
func TestCalibration(t *testing.T) {
	g := newGuestRuntime(t, false)
	for _, tc := range []struct{ dir, tool, args string }{
		{"toolkits/go/examples/wordcount", "text_stats", `{"text":"one two two three three three"}`},
		{"sandbox/testdata/cpu", "json", `{"rounds":5}`},
		{"sandbox/testdata/cpu", "hash", `{"rounds":5}`},
		{"sandbox/testdata/cpu", "sort", `{"rounds":2}`},
	} {
		wasm := builds.Go(t, tc.dir)
		_, seg, err := g.call(context.Background(), g.compile(t, instrument(t, wasm)), tc.tool, tc.args, &account{budget: 1 << 40})
		if err != nil {
			t.Fatal(err)
		}
		exact, err := fuel.InstrumentExact(wasm)
		if err != nil {
			t.Fatal(err)
		}
		_, ins, err := g.call(context.Background(), g.compile(t, exact), tc.tool, tc.args, &account{budget: 1 << 40})
		if err != nil {
			t.Fatal(err)
		}
		ratio := float64(seg) / float64(ins)
		t.Logf("%s %s: charged %d, executed %d instructions: ratio %.4f", tc.dir, tc.tool, seg, ins, ratio)
		// Segment charges may only under-count by the free one-instruction
		// segments, and never over-count without a trap.
		if ratio > 1 || ratio < 0.9 {
			t.Errorf("ratio %.4f is outside [0.9, 1]", ratio)
		}
	}
}

// TestRefuelStopsGoLoop: a Go module in an infinite loop reaches the refuel
// host function within a slice, which ends it: by fuel when the budget is
// the smaller limit, by the deadline otherwise.
func TestRefuelStopsGoLoop(t *testing.T) {
	g := newGuestRuntime(t, false)
	c := g.compile(t, instrument(t, builds.Go(t, "sandbox/testdata/hostile")))
	for name, acct := range map[string]*account{
		"fuel":     {budget: 50_000_000},
		"deadline": {budget: 1 << 60, deadline: time.Now().Add(100 * time.Millisecond)},
	} {
		_, used, err := g.call(context.Background(), c, "spin", `{}`, acct)
		if !errors.Is(err, errOutOfFuel) {
			t.Fatalf("%s: err = %v", name, err)
		}
		if name == "fuel" && used < acct.budget {
			t.Errorf("stopped after %d fuel, before the budget of %d", used, acct.budget)
		}
		t.Logf("%s: stopped after %d fuel and %d refuels", name, used, acct.refuels)
	}
}
