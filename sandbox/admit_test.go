package sandbox_test

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

// blocking are limits under which spin runs until its caller cancels.
func blocking() sandbox.Limits {
	l := limits()
	l.Fuel = 1 << 50
	l.Timeout = 10 * time.Minute
	return l
}

// fill starts n spin calls and returns once the engine has admitted them
// all; cancel ends them, and wait returns their results.
func fill(t *testing.T, e *sandbox.Engine, admitted <-chan struct{}, n int) (cancel func(), wait func() []sandbox.Result) {
	t.Helper()
	spin := load(t, e, wat(t, "spin"))
	ctx, cancel := context.WithCancel(context.Background())
	results := make([]sandbox.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := e.Call(ctx, spin, sandbox.Request{Tool: "main", Limits: blocking()})
			if err != nil {
				t.Errorf("blocking call %d: %v", i, err)
			}
			results[i] = res
		})
	}
	for range n {
		<-admitted
	}
	return cancel, func() []sandbox.Result { wg.Wait(); return results }
}

// TestBusyPastTheBounds: with room for N calls, by count or by memory, the
// N+1st call and a describe run wait QueueWait and fail with ErrBusy; once
// the N end, calls run again.
func TestBusyPastTheBounds(t *testing.T) {
	const n = 2
	mem := blocking().Memory
	for name, cfg := range map[string]sandbox.Config{
		"calls":  {MaxConcurrentCalls: n, MemoryBudget: 100 * mem},
		"memory": {MaxConcurrentCalls: 100, MemoryBudget: n * mem},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.QueueWait = time.Millisecond // the outcome does not depend on it: nothing ends while we wait
			e := newEngine(t, cfg)
			admitted := make(chan struct{}, n+2)
			e.OnAdmit(func() { admitted <- struct{}{} })
			echo := load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm"))
			cancel, wait := fill(t, e, admitted, n)

			_, err := e.Call(context.Background(), echo, sandbox.Request{Tool: "echo", Limits: limits()})
			var busy *sandbox.BusyError
			if !errors.Is(err, sandbox.ErrBusy) || !errors.As(err, &busy) || busy.Resource != name || busy.RetryAfter < time.Second {
				t.Fatalf("call past the bound: err = %v (%+v)", err, busy)
			}
			if _, err := e.Describe(context.Background(), wat(t, "spin"), limits()); !errors.Is(err, sandbox.ErrBusy) {
				t.Fatalf("describe past the bound: err = %v", err)
			}

			cancel()
			for _, res := range wait() {
				if res.Outcome != sandbox.OutcomeCanceled {
					t.Errorf("blocking call: outcome %v (%s)", res.Outcome, res.Detail)
				}
			}
			if res := call(t, e, echo, "echo", `{}`, limits()); res.Outcome != sandbox.OutcomeOK {
				t.Fatalf("call after the others ended: %v %s", res.Outcome, res.Detail)
			}
		})
	}
}

// TestQueuedCallFollowsItsCaller: a call waiting for room ends as its
// caller's context does, not with ErrBusy.
func TestQueuedCallFollowsItsCaller(t *testing.T) {
	e := newEngine(t, sandbox.Config{MaxConcurrentCalls: 1, QueueWait: 10 * time.Minute})
	admitted := make(chan struct{}, 2)
	e.OnAdmit(func() { admitted <- struct{}{} })
	cancelSpin, wait := fill(t, e, admitted, 1)
	defer wait()
	defer cancelSpin()
	echo := load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := e.Call(ctx, echo, sandbox.Request{Tool: "echo", Limits: limits()})
	if err != nil || res.Outcome != sandbox.OutcomeCanceled {
		t.Fatalf("canceled while queued: %v, %v", res.Outcome, err)
	}
}

// TestMemoryLimitAboveTheBudgetIsRefused: a call that could never fit is
// a bad request, not a busy node.
func TestMemoryLimitAboveTheBudgetIsRefused(t *testing.T) {
	e := newEngine(t, sandbox.Config{MemoryBudget: 32 << 20})
	echo := load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	_, err := e.Call(context.Background(), echo, sandbox.Request{Tool: "echo", Limits: limits()}) // 64 MiB
	var reqErr *sandbox.RequestError
	if !errors.As(err, &reqErr) {
		t.Fatalf("err = %v, want a RequestError", err)
	}
}

// TestAdmissionBoundsPeakMemory sends 32 calls at once, each holding all of
// its 16 MiB memory limit until its fuel runs out, to an engine with a 64 MiB
// budget: at most four hold memory at a time. The process's peak RSS may
// grow by at most 160 MiB: the budget, as much again for garbage not yet
// collected (at GOGC=25) and the allocator's copies as memory grows, and
// 32 MiB for the rest. Unbounded, the calls hold up to 512 MiB at once
// (peaks of 240-500 MiB were measured).
func TestAdmissionBoundsPeakMemory(t *testing.T) {
	const budget, calls = 64 << 20, 32
	const bound = 2*budget + 32<<20
	e := newEngine(t, sandbox.Config{MaxConcurrentCalls: calls, MemoryBudget: budget, QueueWait: 10 * time.Minute})
	m := load(t, e, wat(t, "hold"))
	lim := limits()
	lim.Memory = 16 << 20
	lim.Fuel = 50_000_000 // how long each call holds its memory: tens of milliseconds of work
	lim.Timeout = 10 * time.Minute
	// Collect garbage early, so the peak shows the memory in use, not the
	// collector's headroom (which GOGC=100 makes as large as the live heap).
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	hwm := startHighWaterMark(t)
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if res := call(t, e, m, "main", `{}`, lim); res.Outcome != sandbox.OutcomeFuelExhausted || res.PeakMemory != lim.Memory {
				t.Errorf("outcome %v (%s)", res.Outcome, res.Detail)
			}
		})
	}
	wg.Wait()
	grew := hwm.growth(t)
	t.Logf("peak RSS grew by %d MiB for %d calls of 16 MiB under a %d MiB budget", grew>>20, calls, budget>>20)
	if grew > bound {
		t.Fatalf("peak RSS grew by %d MiB, more than %d MiB", grew>>20, bound>>20)
	}
}
