//go:build unix

package sandbox_test

import (
	"runtime"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
)

// TestFreshCallsLeaveNoMemoryGarbage: a call on a fresh instance does not
// allocate the instance's memory (5 MiB for a Go module) on the Go heap
// (limitedMemory.place). When it did, a node running such calls collected garbage
// every few calls and every other call in the process slowed down
// (RATIONALE.md).
func TestFreshCallsLeaveNoMemoryGarbage(t *testing.T) {
	// Compiled at Load: no compiler at work in the background.
	e := newEngine(t, sandbox.Config{FreshInstances: true, NoInterpreter: true})
	m := load(t, e, isolation(t))
	call(t, e, m, "echo", `{"text":"warm up"}`, limits())
	const calls = 5
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		if res := call(t, e, m, "echo", `{"text":"hello"}`, limits()); res.Outcome != sandbox.OutcomeOK {
			t.Fatalf("outcome %v: %s", res.Outcome, res.Detail)
		}
	}
	runtime.ReadMemStats(&after)
	if perCall := (after.TotalAlloc - before.TotalAlloc) / calls; perCall > 2<<20 {
		t.Fatalf("a fresh call allocated %d bytes on the Go heap; its memory belongs outside it", perCall)
	}
}
