package sandbox_test

import (
	"testing"

	"github.com/kilnhq/kiln/sandbox"
)

// TestWarmPoolsAreBounded crosses each bound of the warm pools: idle
// instances over all modules (the least recently called module loses its
// instance), and memory for snapshots and idle instances (a module whose
// snapshot does not fit initialises again on its next call, and still
// answers).
func TestWarmPoolsAreBounded(t *testing.T) {
	a, b := isolation(t), hostile(t)
	t.Run("memory counts the size, not the limit", func(t *testing.T) {
		// A snapshot and an idle instance of the isolation module (3.5 MiB
		// each) fit in 16 MiB; the instance the snapshot was taken of was
		// created under the call's limit (DefaultLimits, far more), and a
		// tracked memory's mapping has that size (dirty_linux.go): what
		// counts is the memory, not the mapping.
		e := newEngine(t, sandbox.Config{WarmMemory: 16 << 20})
		ma := load(t, e, a)
		for range 3 {
			call(t, e, ma, "echo", `{"text":"a"}`, limits())
			e.Settle()
		}
		if st := e.WarmStats(); st.Evicted != 0 || st.Initialised != 1 || st.Restored != 3 {
			t.Fatalf("an instance within WarmMemory was evicted: %+v", st)
		}
	})
	t.Run("instances", func(t *testing.T) {
		e := newEngine(t, sandbox.Config{WarmInstances: 1})
		ma, mb := load(t, e, a), load(t, e, b)
		call(t, e, ma, "echo", `{"text":"a"}`, limits())
		e.Settle()
		if st := e.WarmStats(); st.Evicted != 0 {
			t.Fatalf("evicted within the bound: %+v", st)
		}
		call(t, e, mb, "count", `{}`, limits())
		e.Settle()
		if st := e.WarmStats(); st.Evicted != 1 {
			t.Fatalf("a second module's instance past WarmInstances=1 did not evict the first's: %+v", st)
		}
		// A's snapshot survives (memory is within its bound): a clone, not
		// a second initialisation, serves it.
		call(t, e, ma, "echo", `{"text":"a"}`, limits())
		e.Settle()
		if st := e.WarmStats(); st.Initialised != 2 || st.Cloned != 1 {
			t.Fatalf("want A served from its snapshot: %+v", st)
		}
	})
	t.Run("memory", func(t *testing.T) {
		e := newEngine(t, sandbox.Config{WarmMemory: 1})
		m := load(t, e, a)
		for range 2 {
			if res := call(t, e, m, "echo", `{"text":"a"}`, limits()); res.Outcome != sandbox.OutcomeOK {
				t.Fatalf("%v %s", res.Outcome, res.Detail)
			}
			e.Settle()
		}
		if st := e.WarmStats(); st.Initialised != 2 || st.Evicted < 2 {
			t.Fatalf("a snapshot past WarmMemory was kept: %+v", st)
		}
	})
	t.Run("per module", func(t *testing.T) {
		e := newEngine(t, sandbox.Config{WarmPerModule: 1})
		m := load(t, e, a)
		call(t, e, m, "echo", `{"text":"a"}`, limits())
		e.Settle()
		// Two instances in use at once: only one may stay idle.
		sandbox.HoldInstances(t, e, m, 2)
		if n := sandbox.IdleInstances(e, m); n != 1 {
			t.Fatalf("%d idle instances with WarmPerModule=1", n)
		}
	})
}
