package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

// TestInterpreterThenCompiled serves a new module's calls from the
// interpreter while its compile is held back, then from the compiled
// form: the two give the same outcomes and answers and charge the same
// fuel, which the module's own instrumented code counts. Fuel is compared
// on the WAT modules, whose instruction counts are deterministic; a Go
// module's fresh instance runs a runtime start-up whose work depends on
// the clock, so for it the answers are compared.
func TestInterpreterThenCompiled(t *testing.T) {
	spinLimits := limits()
	spinLimits.Fuel = 2_000_000
	for _, tc := range []struct {
		name, tool, args string
		wasm             []byte
		lim              sandbox.Limits
		want             sandbox.Outcome
		sameFuel         bool
	}{
		{"wat echo", "echo", `{"text":"a b"}`, testmodules.WAT(t, "toolkits/wat/echo.wasm"), limits(), sandbox.OutcomeOK, true},
		{"wat spin", "main", `{}`, wat(t, "spin"), spinLimits, sandbox.OutcomeFuelExhausted, true},
		{"go count", "count", `{}`, hostile(t), limits(), sandbox.OutcomeOK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEngine(t, sandbox.Config{CacheDir: t.TempDir()})
			resume := e.HoldCompiles()
			m, err := e.Load(ctx, tc.wasm)
			if err != nil {
				resume()
				t.Fatal(err)
			}
			interpreted := call(t, e, m, tc.tool, tc.args, tc.lim)
			if e.Native(m) {
				t.Error("the module is compiled while its compile is held")
			}
			resume()
			if err := e.WaitCompiled(ctx, m); err != nil {
				t.Fatal(err)
			}
			if !e.Native(m) {
				t.Fatal("the module is not compiled after its compile ended")
			}
			compiled := call(t, e, m, tc.tool, tc.args, tc.lim)
			if interpreted.Outcome != tc.want || compiled.Outcome != tc.want {
				t.Fatalf("outcomes %v (%s) interpreted, %v (%s) compiled, want %v",
					interpreted.Outcome, interpreted.Detail, compiled.Outcome, compiled.Detail, tc.want)
			}
			if tc.sameFuel && (compiled.FuelUsed != interpreted.FuelUsed || compiled.FuelUsed == 0) {
				t.Errorf("fuel %d compiled, %d interpreted", compiled.FuelUsed, interpreted.FuelUsed)
			}
			if !bytes.Equal(compiled.Answer.Document, interpreted.Answer.Document) {
				t.Errorf("answer %s compiled, %s interpreted", compiled.Answer.Document, interpreted.Answer.Document)
			}
			if st := e.TierStats(); st.Interpreted != 1 || st.Compiled != 1 {
				t.Errorf("tier stats %+v, want one interpreter preparation and one compile", st)
			}
		})
	}
}

// TestRestartLoadsFromDisk: a second engine on the same cache directory
// (a restarted process) gets the compiled form at once, without the
// interpreter or the compiler.
func TestRestartLoadsFromDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first := newEngine(t, sandbox.Config{CacheDir: dir})
	load(t, first, hostile(t))
	second := newEngine(t, sandbox.Config{CacheDir: dir})
	m, err := second.Load(ctx, hostile(t))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Native(m) {
		t.Fatal("the restarted engine did not load the compiled form")
	}
	if res := call(t, second, m, "count", `{}`, limits()); res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("outcome %v: %s", res.Outcome, res.Detail)
	}
	if st := second.TierStats(); st.FromDisk != 1 || st.Compiled != 0 || st.Interpreted != 0 {
		t.Errorf("tier stats %+v, want one load from disk and nothing else", st)
	}
}

// TestDescribeThenLoadPrepareOnce: the build path describes the module on
// the interpreter without compiling it, and Load of the module with its
// manifest embedded reuses that interpreter form (the rewrite leaves the
// manifest out, so the code is the same); only Load starts a compile.
func TestDescribeThenLoadPrepareOnce(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, sandbox.Config{CacheDir: t.TempDir()})
	full := hostile(t)
	resume := e.HoldCompiles()
	if _, err := e.Describe(ctx, mustStrip(t, full), limits()); err != nil {
		resume()
		t.Fatal(err)
	}
	m, err := e.Load(ctx, full)
	resume()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WaitCompiled(ctx, m); err != nil {
		t.Fatal(err)
	}
	if st := e.TierStats(); st.Interpreted != 1 || st.Compiled != 1 || !e.Native(m) {
		t.Fatalf("tier stats %+v (native %v), want one interpreter preparation and one compile", st, e.Native(m))
	}
}

// TestCorruptDiskCacheFallsBack: a restarted engine whose compiled file is
// damaged serves the module from the interpreter and compiles it again,
// rather than failing the load (wazero refuses such a file outright).
func TestCorruptDiskCacheFallsBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	echo := testmodules.WAT(t, "toolkits/wat/echo.wasm")
	load(t, newEngine(t, sandbox.Config{CacheDir: dir}), echo)
	files, err := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("compiled files: %v %v", files, err)
	}
	for _, f := range files {
		if err := os.Truncate(f, 20); err != nil {
			t.Fatal(err)
		}
	}
	e := newEngine(t, sandbox.Config{CacheDir: dir})
	m, err := e.Load(ctx, echo)
	if err != nil {
		t.Fatal(err)
	}
	if res := call(t, e, m, "echo", `{"text":"a"}`, limits()); res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("outcome %v: %s", res.Outcome, res.Detail)
	}
	if err := e.WaitCompiled(ctx, m); err != nil {
		t.Fatal(err)
	}
	if st := e.TierStats(); st.FromDisk != 0 || st.Interpreted != 1 || st.Compiled != 1 || !e.Native(m) {
		t.Fatalf("tier stats %+v (native %v), want the interpreter, then a compile", st, e.Native(m))
	}
}

// TestInterpreterTime: a call served by the interpreter while its
// module's compile is pending gets Config.InterpreterTimeFactor times its
// time limit, which its outcome names; once compiled, the limit is the
// call's own. A factor of 1 keeps the limit on the interpreter too.
func TestInterpreterTime(t *testing.T) {
	lim := limits()
	lim.Fuel, lim.Timeout = 1<<50, 50*time.Millisecond // time, not fuel, stops the spin
	for _, tc := range []struct {
		factor      int
		interpreted string
	}{{0, "longer than 500ms"}, {3, "longer than 150ms"}, {1, "longer than 50ms"}} {
		ctx := context.Background()
		e := newEngine(t, sandbox.Config{CacheDir: t.TempDir(), InterpreterTimeFactor: tc.factor})
		resume := e.HoldCompiles()
		m, err := e.Load(ctx, wat(t, "spin"))
		if err != nil {
			resume()
			t.Fatal(err)
		}
		res := call(t, e, m, "main", `{}`, lim)
		resume()
		if res.Outcome != sandbox.OutcomeTimeout || !strings.Contains(res.Detail, tc.interpreted) {
			t.Errorf("factor %d, interpreted: %v %q, want a timeout %s", tc.factor, res.Outcome, res.Detail, tc.interpreted)
		}
		if err := e.WaitCompiled(ctx, m); err != nil {
			t.Fatal(err)
		}
		if res := call(t, e, m, "main", `{}`, lim); res.Outcome != sandbox.OutcomeTimeout || !strings.Contains(res.Detail, "longer than 50ms") {
			t.Errorf("factor %d, compiled: %v %q, want a timeout after 50ms", tc.factor, res.Outcome, res.Detail)
		}
	}
}
