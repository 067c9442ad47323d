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

// Errors that end a call from inside refuel or a host function. wazero
// returns a host function's panic value wrapped with %w.
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
	granted  int64 // fuel handed to the module so far, in slices
	host     int64 // fuel charged by host functions
	counter  api.MutableGlobal
	last     int64 // the counter as last seen by the host
	stopped  bool  // the meter ended the call; the global is stale, last is right
	// mem is the call's memory: an initial size past the limit, which
	// only the allocator can see if admission was bypassed, ends the call
	// at the first check, before the module does anything.
	mem *limitedMemory
}

func newMeter(ctx context.Context, budget uint64, timeout time.Duration, mem *limitedMemory) *meter {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return &meter{ctx: ctx, deadline: deadline, budget: int64(min(budget, 1<<62)), mem: mem}
}

// refuel is called by the module when its counter goes negative.
func (m *meter) refuel(counter int64) int64 {
	m.last = min(counter, 0)
	m.stopIfDone()
	guest := m.granted - m.last
	next := min(fuelSlice, m.budget-guest-m.host)
	m.granted = guest + next
	m.last = next
	return next
}

// charge takes fuel for work a host function does on the module's behalf,
// before it does it, and ends the call there (as refuel does) when the
// budget is spent, the deadline has passed or the caller canceled: host
// calls are checkpoints too, so a loop around a cheap host call stops on
// time even though its own fuel checks come rarely.
func (m *meter) charge(units int64) {
	m.host += units
	if m.counter != nil {
		// The module stores its counter before every call: it is current.
		m.last = int64(m.counter.Get())
	}
	m.stopIfDone()
}

// stopIfDone ends the call, by panicking with the reason, when a limit is
// reached.
func (m *meter) stopIfDone() {
	var stop error
	switch {
	case m.mem != nil && m.mem.initial != nil:
		stop = m.mem.initial
	case m.ctx.Err() != nil && errors.Is(m.ctx.Err(), context.DeadlineExceeded):
		stop = errDeadline
	case m.ctx.Err() != nil:
		stop = errCanceled
	case !time.Now().Before(m.deadline):
		stop = errDeadline
	case m.granted-m.last+m.host >= m.budget:
		stop = errFuelExhausted
	}
	if stop != nil {
		m.stopped = true
		panic(stop)
	}
}

// finish records the counter's final value as the module stored it on its
// way out. When the meter stopped the call, or the module trapped, the
// global may be stale (functions keep the counter in a local and store it
// at calls and returns), so a trap can under-count by the work since then.
func (m *meter) finish() {
	if m.counter != nil && !m.stopped {
		m.last = int64(m.counter.Get())
	}
	m.counter = nil
}

// used reports the fuel consumed.
func (m *meter) used() uint64 {
	return uint64(max(0, min(m.granted-m.last+m.host, m.budget)))
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
