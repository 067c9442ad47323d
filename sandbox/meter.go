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
	switch {
	case m.ctx.Err() != nil && errors.Is(m.ctx.Err(), context.DeadlineExceeded):
		panic(errDeadline)
	case m.ctx.Err() != nil:
		panic(errCanceled)
	case !time.Now().Before(m.deadline):
		panic(errDeadline)
	case used >= m.budget:
		panic(errFuelExhausted)
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

// used reports the fuel consumed, read from the counter while the instance
// exists (m.counter) and from refuel's last view otherwise.
func (m *meter) used() uint64 {
	left := m.last
	if m.counter != nil {
		left = int64(m.counter.Get())
	}
	return uint64(max(0, min(m.granted-left, m.budget)))
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
