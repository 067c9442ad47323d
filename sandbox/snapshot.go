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

// snapshot is a reactor instance's whole state right after it initialised:
// its memory and every mutable global (the rewrite exports them all, and
// marks modules whose tables and segments never change, RATIONALE.md).
type snapshot struct {
	memory  []byte
	globals []uint64 // in the order of warmInstance.globals
	// init is what the initialisation read from the host (clocks, random
	// bytes), kept for the recordings of calls served from the snapshot
	// (record.go); initTruncated: more than initRecordLimit.
	init          []Read
	initTruncated bool
}

// warmInstance is a reactor instance kept between calls.
type warmInstance struct {
	mod     api.Module
	mem     *limitedMemory
	slot    *callSlot
	globals []api.MutableGlobal
	counter api.MutableGlobal
	call    api.Function
	calls   int // calls served since it was created
}

// newWarm instantiates a reactor module for reuse: its stdout, stderr and
// random source lead to whichever call it serves (callSlot), and it has no
// arguments, environment or stdin (a reactor's call comes through
// kiln.call_input). setup is the state host functions see until a call
// takes over, and must have a meter.
func (e *Engine) newWarm(ctx context.Context, compiled wazero.CompiledModule, names []string, limit uint64, setup *callState, tracker *dirtyTracker) (*warmInstance, error) {
	// No inspect hook: a warm instance's memory is inspected after each
	// call instead (runWarm), not when it is freed in its snapshot state.
	w := &warmInstance{mem: &limitedMemory{limit: limit, tracker: tracker}, slot: &callSlot{state: setup}}
	setup.meter.mem = w.mem
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithStdout(w.slot).WithStderr(w.slot).WithRandSource(w.slot).
		WithWalltime(w.slot.walltime, walltimeResolution).WithNanotime(w.slot.nanotime, nanotimeResolution)
	inst, err := instantiateIn(context.WithValue(ctx, callStateKey{}, setup), e.rt, compiled, cfg, w.mem)
	if err != nil {
		return nil, fmt.Errorf("sandbox: instantiating a warm instance: %w", err)
	}
	w.mod = inst
	var ok bool
	w.counter, ok = inst.ExportedGlobal(fuel.GlobalExport).(api.MutableGlobal)
	w.call = inst.ExportedFunction(reactorCall)
	for _, name := range names {
		g, isMutable := inst.ExportedGlobal(name).(api.MutableGlobal)
		ok = ok && isMutable
		w.globals = append(w.globals, g)
	}
	if !ok || w.call == nil || inst.Memory() == nil {
		return nil, errors.Join(errors.New("sandbox: the module lacks the exports a warm instance needs"), w.close(ctx))
	}
	setup.meter.counter = w.counter
	return w, nil
}

// setupState is the state of work an instance does outside any call (its
// initialisation): the engine's largest memory, default fuel and time.
func (e *Engine) setupState(ctx context.Context, lim Limits) *callState {
	s := &callState{limits: lim, logs: logSink{budget: lim.LogBytes}, epoch: e.epoch}
	s.meter = newMeter(ctx, lim.Fuel, lim.Timeout, nil)
	return s
}

// capture takes the snapshot of an instance that has just initialised.
func (w *warmInstance) capture() (*snapshot, error) {
	mem := w.mod.Memory()
	buf, ok := mem.Read(0, mem.Size())
	if !ok {
		return nil, errors.New("sandbox: reading the memory to snapshot")
	}
	s := &snapshot{memory: append([]byte(nil), buf...)}
	for _, g := range w.globals {
		s.globals = append(s.globals, g.Get())
	}
	return s, nil
}

// restore puts the instance back in the snapshot's state: every byte of
// memory and every mutable global. It refuses (the caller discards the
// instance) when the memory's size differs: wazero cannot shrink memory,
// and a Go runtime keeps its idea of the heap's end in memory.
func (w *warmInstance) restore(s *snapshot) error {
	mem := w.mod.Memory()
	if mem.Size() != uint32(len(s.memory)) {
		return fmt.Errorf("sandbox: memory is %d bytes, the snapshot %d", mem.Size(), len(s.memory))
	}
	if err := w.mem.restoreFrom(s.memory); err != nil {
		return err
	}
	for i, g := range w.globals {
		g.Set(s.globals[i])
	}
	w.counter.Set(0)
	return nil
}

// clone makes a new warm instance in the snapshot's state without running
// any of its code: a fresh instance whose memory and globals are then
// overwritten, which is exact for a restorable module.
func (e *Engine) clone(ctx context.Context, compiled wazero.CompiledModule, names []string, s *snapshot) (*warmInstance, error) {
	// Tracked (dirty_linux.go) when the kernel can, as initialise's.
	w, err := e.newWarm(ctx, compiled, names, uint64(len(s.memory)), e.setupState(ctx, DefaultLimits()), e.dirty)
	if err != nil {
		return nil, err
	}
	mem := w.mod.Memory()
	if want := uint32(len(s.memory)); mem.Size() < want {
		if _, ok := mem.Grow((want - mem.Size()) / pageSize); !ok {
			return nil, errors.Join(errors.New("sandbox: growing a clone's memory to the snapshot's"), w.close(ctx))
		}
	}
	if err := w.restore(s); err != nil {
		return nil, errors.Join(err, w.close(ctx))
	}
	w.slot.state = nil
	return w, nil
}

// initialise runs a new instance's initialisation, within the memory
// limit of the call it is made for (which admission counted), and
// snapshots it. tooBig reports that the limit refused a grow. t records
// what the initialisation reads from the host, or replays it.
func (e *Engine) initialise(ctx context.Context, compiled wazero.CompiledModule, names []string, lim Limits, t *tape) (w *warmInstance, s *snapshot, tooBig bool, err error) {
	setup := e.setupState(ctx, lim)
	setup.tape = t
	w, err = e.newWarm(ctx, compiled, names, uint64(lim.memoryPages())*pageSize, setup, e.dirty)
	if err != nil {
		return nil, nil, false, err
	}
	callCtx, cancel := context.WithDeadline(context.WithValue(ctx, callStateKey{}, setup), setup.meter.deadline)
	defer cancel()
	err = initReactor(callCtx, w.mod)
	setup.meter.finish()
	w.slot.state = nil
	if err != nil || setup.wasiTouched || w.mem.refused {
		return nil, nil, w.mem.refused, errors.Join(fmt.Errorf("sandbox: initialising a warm instance: %v: %s", err, setup.logs.console.Bytes()), w.close(ctx))
	}
	if s, err = w.capture(); err != nil {
		return nil, nil, false, errors.Join(err, w.close(ctx))
	}
	if t != nil && t.rec != nil {
		s.init, s.initTruncated = t.rec.Reads, t.rec.Truncated
	}
	return w, s, false, nil
}

// serve runs one call on a warm instance, under the call's limits.
func (w *warmInstance) serve(ctx context.Context, state *callState) (time.Duration, error) {
	size := uint64(w.mod.Memory().Size())
	w.mem.limit, w.mem.refused, w.mem.peak = uint64(state.limits.memoryPages())*pageSize, false, size
	state.meter = newMeter(ctx, state.limits.Fuel, state.limits.Timeout, w.mem)
	callCtx, cancel := context.WithDeadline(ctx, state.meter.deadline)
	defer cancel()
	callCtx = context.WithValue(callCtx, callStateKey{}, state)
	w.slot.state = state
	w.counter.Set(0)
	state.meter.counter = w.counter
	start := time.Now()
	_, err := w.call.Call(callCtx, uint64(len(state.input)))
	state.meter.finish()
	w.slot.state = nil
	w.calls++
	return time.Since(start), err
}

func (w *warmInstance) close(ctx context.Context) error {
	return w.mod.Close(ctx)
}
