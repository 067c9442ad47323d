package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

// fuelSlice is how much fuel the module gets at a time. When a slice runs
// out, the module calls refuel, and the host decides whether to go on: the
// slice bounds how long a module runs without the host looking (about 1-5
// ms of work), which is the precision of deadlines and cancellation and
// the longest the Go runtime waits for this goroutine to stop for garbage
// collection (Go cannot preempt JIT-compiled code).
const fuelSlice = 5_000_000

// Errors that end a call from inside refuel. wazero returns a host
// function's panic value wrapped with %w.
var (
	errFuelExhausted = errors.New("fuel exhausted")
	errDeadline      = errors.New("deadline exceeded")
	errCanceled      = errors.New("canceled")
)

// meter is one call's fuel account. Everything here runs on the call's own
// goroutine (the module, its host functions, refuel), so it needs no locks:
// there is no watchdog to race with.
type meter struct {
	ctx      context.Context
	deadline time.Time
	budget   int64
	granted  int64 // fuel handed out so far, in slices
	counter  api.MutableGlobal
	last     int64 // the counter as last seen by the host
	stopped  bool  // refuel ended the call; the global is stale, last is right
}

func newMeter(ctx context.Context, budget uint64, timeout time.Duration) *meter {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return &meter{ctx: ctx, deadline: deadline, budget: int64(min(budget, 1<<62))}
}

// refuel is called by the module when its counter goes negative.
func (m *meter) refuel(counter int64) int64 {
	m.last = min(counter, 0)
	used := m.granted - m.last
	var stop error
	switch {
	case m.ctx.Err() != nil && errors.Is(m.ctx.Err(), context.DeadlineExceeded):
		stop = errDeadline
	case m.ctx.Err() != nil:
		stop = errCanceled
	case !time.Now().Before(m.deadline):
		stop = errDeadline
	case used >= m.budget:
		stop = errFuelExhausted
	}
	if stop != nil {
		m.stopped = true
		panic(stop)
	}
	next := min(fuelSlice, m.budget-used)
	m.granted = used + next
	m.last = next
	return next
}

// charge takes fuel for work the host does on the module's behalf; going
// negative sends the module to refuel at its next check.
func (m *meter) charge(units int64) {
	if m.counter != nil {
		m.counter.Set(uint64(int64(m.counter.Get()) - units))
	}
}

// finish records the counter's final value as the module stored it on its
// way out. When refuel stopped the call, or the module trapped, the global
// may be stale (functions keep the counter in a local and store it at
// calls and returns), so a trap can under-count by the work since then.
func (m *meter) finish() {
	if m.counter != nil && !m.stopped {
		m.last = int64(m.counter.Get())
	}
	m.counter = nil
}

// used reports the fuel consumed.
func (m *meter) used() uint64 {
	return uint64(max(0, min(m.granted-m.last, m.budget)))
}

// instantiateRefuel registers kiln_fuel.refuel, the import the fuel
// rewrite adds to every module.
func instantiateRefuel(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(fuel.ImportModule).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(ctx context.Context, stack []uint64) {
			stack[0] = uint64(stateFrom(ctx).meter.refuel(int64(stack[0])))
		}), []api.ValueType{api.ValueTypeI64}, []api.ValueType{api.ValueTypeI64}).
		WithParameterNames("counter").
		Export(fuel.ImportName).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: instantiating the refuel function: %w", err)
	}
	return nil
}
