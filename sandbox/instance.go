package sandbox

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

// moduleConfig is what an instance sees of the world: argv [tool], stdin,
// the given env and nothing else of the host's, clocks, random bytes, no
// files. stdout and stderr go to the logs, except a plain module's stdout,
// which is its result (returned). The configuration itself is built only
// when a fresh instance is made (the returned function): a warm instance
// has its own (newWarm), and building one costs a call a few allocations.
//
// A reactor gets its call (tool, arguments, env) through kiln.call_input
// instead, as its warm instances must (reactor.go), so its fresh instances
// see the same.
func moduleConfig(m *Module, tool string, stdin []byte, env map[string]string, state *callState) (func() wazero.ModuleConfig, *resultWriter) {
	if m.reactor {
		state.input = encodeCall(tool, stdin, env)
		stdin, env = nil, nil
	}
	sys := len(tool) + 1
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
		sys += len(name) + len(env[name]) + 2
	}
	state.sysBytes = uint32(min(sys, 1<<31))
	var stdout *resultWriter
	if m.Manifest.Plain {
		stdout = &resultWriter{limit: state.limits.OutputBytes}
	}
	return func() wazero.ModuleConfig {
		cfg := wazero.NewModuleConfig().
			WithName(""). // anonymous: many instances of one module may run at once
			WithArgs(tool).
			WithStdin(bytes.NewReader(stdin)).
			WithWalltime(state.walltime, walltimeResolution).
			WithNanotime(state.nanotime, nanotimeResolution).
			WithRandSource(randSource{state})
		sort.Strings(names)
		for _, name := range names {
			cfg = cfg.WithEnv(name, env[name])
		}
		logs := meteredWriter{&state.logs, state}
		if stdout == nil {
			return cfg.WithStdout(logs).WithStderr(logs)
		}
		return cfg.WithStdout(meteredWriter{stdout, state}).WithStderr(logs)
	}, stdout
}

// execution is how one instance ran.
type execution struct {
	mem      *limitedMemory
	err      error // how the module stopped: nil, an exit, a trap or a limit
	duration time.Duration
}

// run is the one way an instance of a module comes to be: Call and
// Describe both go through it, so no path can skip admission. The error is
// for host failures, a request that can never be admitted (*RequestError)
// and ErrBusy; how the module stopped, including a refusal for its initial
// memory, is in the execution.
func (e *Engine) run(ctx context.Context, m *Module, cfg func() wazero.ModuleConfig, state *callState) (execution, error) {
	x := execution{mem: &limitedMemory{limit: uint64(state.limits.memoryPages()) * pageSize, inspect: e.inspectMemory}}
	ctx, done, err := e.enterCall(ctx) // inflight.go
	if err != nil {
		return x, err
	}
	defer done()
	leave, err := e.admit(ctx, m, state.limits)
	var initial *initialMemoryError
	switch {
	case errors.As(err, &initial) || errors.Is(err, errDeadline) || errors.Is(err, errCanceled):
		x.err = err
		return x, nil
	case err != nil:
		return x, err
	}
	if wx, ok, err := e.runWarm(ctx, m, state, leave); ok {
		return wx, nil
	} else if err != nil {
		leave()
		return x, err
	}
	defer leave()
	entry, err := e.acquire(ctx, m)
	if err != nil {
		return x, err
	}
	e.interpreted(entry, &state.limits)
	x.duration, x.err = e.instantiate(ctx, entry.rt, entry.compiled, cfg(), state, x.mem)
	return x, e.release(ctx, entry)
}

// admit decides whether the module may be instantiated now: its initial
// memory must be within the call's limit (wazero cannot refuse it later),
// and the engine must have room for one more call with this memory limit,
// which may mean waiting in the gate's queue. The returned function gives
// the room back.
func (e *Engine) admit(ctx context.Context, m *Module, lim Limits) (func(), error) {
	if m.minPages > lim.memoryPages() {
		return nil, &initialMemoryError{pages: m.minPages, limit: lim.memoryPages()}
	}
	t := &ticket{bytes: uint64(lim.memoryPages()) * pageSize, deadline: time.Now().Add(lim.Timeout)}
	if d, ok := ctx.Deadline(); ok && d.Before(t.deadline) {
		t.deadline = d
	}
	if err := e.gate.enter(ctx, t); err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return nil, errDeadline
		case errors.Is(err, context.Canceled):
			return nil, errCanceled
		}
		return nil, err
	}
	if e.onAdmit != nil {
		e.onAdmit()
	}
	return func() { e.gate.leave(t) }, nil
}

// instantiate makes the instance (running its start section, if it has
// one) and then runs _start, or, for a reactor (whose call document is in
// state.input), its initialisation and call entry. The
// fuel counter starts at 0, so the first check asks refuel for the first
// slice.
func (e *Engine) instantiate(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule, cfg wazero.ModuleConfig, state *callState, mem *limitedMemory) (time.Duration, error) {
	state.meter = newMeter(ctx, state.limits.Fuel, state.limits.Timeout, mem)
	// Host functions that block (HTTP) see the call's deadline.
	callCtx, cancel := context.WithDeadline(ctx, state.meter.deadline)
	defer cancel()
	callCtx = context.WithValue(callCtx, callStateKey{}, state)

	start := time.Now()
	inst, err := instantiateIn(callCtx, rt, compiled, cfg.WithStartFunctions(), mem)
	if err != nil {
		return time.Since(start), err
	}
	if mem.initial != nil { // see limitedMemory.Reallocate
		return time.Since(start), errors.Join(mem.initial, inst.Close(ctx))
	}
	counter, ok := inst.ExportedGlobal(fuel.GlobalExport).(api.MutableGlobal)
	if !ok {
		return time.Since(start), errors.Join(errors.New("sandbox: the module is not instrumented"), inst.Close(ctx))
	}
	state.meter.counter = counter
	if state.input != nil {
		err = runReactor(callCtx, inst, state.input)
	} else if f := inst.ExportedFunction("_start"); f != nil {
		_, err = f.Call(callCtx)
	}
	state.meter.finish()
	return time.Since(start), errors.Join(err, inst.Close(ctx))
}
