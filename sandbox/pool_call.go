package sandbox

import (
	"context"
	"errors"
)

// runWarm serves a call of a restorable reactor module on a warm instance
// when it can. ok=false sends the call to a fresh instance (the engine has
// no pools, the module is not restorable, its initialisation failed, or
// its snapshot is larger than the call's memory limit), with err set only
// for a host failure. With ok, runWarm owns leave, the call's admission:
// it returns as soon as the module has answered, and restores or replaces
// the instance in the background before it gives the admission back, so
// that restoring is off the call's latency yet within the node's bounds.
func (e *Engine) runWarm(ctx context.Context, m *Module, state *callState, leave func()) (execution, bool, error) {
	if state.replay != nil && state.replay.rec.Warm {
		return e.replayWarm(ctx, m, state, leave) // replay.go
	}
	if e.pools == nil || !m.restorable || state.oneOff || !e.Native(m) {
		// Warm instances are of compiled code only: a module still on the
		// interpreter runs its calls fresh (tier.go, RATIONALE.md).
		return execution{}, false, nil
	}
	p := e.pools.enter(m.Hash)
	w, err := e.warmFor(ctx, m, p, state.limits)
	if err != nil || w == nil {
		return execution{}, false, errors.Join(err, e.leavePool(ctx, p))
	}
	state.recordWarm(p.snap) // record.go
	var x execution
	x.duration, x.err = w.serve(ctx, state)
	if e.inspectMemory != nil { // tests: the memory as the call left it
		if buf, ok := w.mod.Memory().Read(0, w.mod.Memory().Size()); ok {
			e.inspectMemory(buf)
		}
	}
	// The instance's memory account lives on with the instance; the call
	// keeps a copy of how it went.
	account := *w.mem
	account.buf, account.inspect = nil, nil
	x.mem = &account
	clean := x.err == nil && !state.wasiTouched && !w.mem.refused && !state.meter.stopped
	e.pools.count(func(s *WarmStats) { s.Served++ })
	// Before run returns, so before Close, which waits for the calls in
	// flight (inflight.go), can begin to wait for e.bg.
	e.bg.Add(1)
	e.pools.restoreStarted(p)
	go func() {
		defer e.bg.Done()
		defer leave()
		e.recycle(p, w, clean)
		e.pools.restoreDone(p)
		// Closing only frees memory; there is no caller left to tell.
		_ = e.leavePool(context.Background(), p)
	}()
	return x, true, nil
}

// warmFor returns an instance of m in its snapshot state: an idle one, a
// clone of the snapshot, or, for the module's first call, a newly
// initialised one whose snapshot it takes. nil means "use a fresh one".
func (e *Engine) warmFor(ctx context.Context, m *Module, p *modulePool, lim Limits) (*warmInstance, error) {
	limit := uint64(lim.memoryPages()) * pageSize
	for {
		if w := e.pools.take(p); w != nil {
			if uint64(w.mod.Memory().Size()) <= limit {
				return w, nil
			}
			if !e.pools.put(p, w) {
				return nil, w.close(ctx)
			}
			return nil, nil
		}
		if !e.pools.waitRestore(ctx, p) {
			break
		}
	}
	snap, err := e.snapshotOf(ctx, m, p, lim)
	if err != nil || snap == nil {
		return nil, err
	}
	if uint64(len(snap.memory)) > limit {
		return nil, nil
	}
	if w := e.pools.take(p); w != nil { // the instance the snapshot was taken of
		return w, nil
	}
	w, err := e.clone(ctx, p.compiled, p.names, snap)
	if err != nil {
		return nil, err
	}
	e.pools.count(func(s *WarmStats) { s.Cloned++ })
	return w, nil
}

// snapshotOf returns p's snapshot, initialising an instance to take it on
// first use, under the memory limit in lim; nil when the initialisation
// fails (the call then runs fresh, which reports the failure as its
// outcome). A failure other than the memory limit or the caller giving up
// is remembered: the module's calls all run fresh.
func (e *Engine) snapshotOf(ctx context.Context, m *Module, p *modulePool, lim Limits) (*snapshot, error) {
	p.init.Lock()
	defer p.init.Unlock()
	e.pools.mu.Lock()
	snap, failed := p.snap, p.failed
	e.pools.mu.Unlock()
	if snap != nil || failed {
		return snap, nil
	}
	entry, err := e.acquire(ctx, m)
	if err != nil {
		return nil, err
	}
	if entry.lru != e.lru { // evicted since runWarm looked: not compiled now
		return nil, e.release(ctx, entry)
	}
	setup := DefaultLimits()
	setup.Memory = lim.Memory
	// The initialisation's reads are kept with the snapshot, once per
	// snapshot, for recorded calls served from it (record.go).
	w, snap, tooBig, err := e.initialise(ctx, entry.compiled, m.globals, setup, recorder(NewRecording(initRecordLimit)))
	if err != nil {
		if ctx.Err() == nil && !tooBig {
			e.pools.mu.Lock()
			p.failed = true
			e.pools.mu.Unlock()
		}
		return nil, e.release(ctx, entry)
	}
	e.pools.setSnapshot(p, snap, entry.compiled, func(ctx context.Context) error { return e.release(ctx, entry) }, m.globals)
	e.pools.count(func(s *WarmStats) { s.Initialised++ })
	// The initialised instance is in the snapshot's state: keep it.
	if !e.pools.put(p, w) {
		return snap, w.close(ctx)
	}
	return snap, nil
}

// recycle restores an instance after a call and keeps it, or, when the
// call may have left state a restore cannot undo exactly (it trapped,
// exited, hit a limit, grew its memory, changed a descriptor) or the
// instance has served RecycleAfter calls, closes it and keeps a new clone.
func (e *Engine) recycle(p *modulePool, w *warmInstance, clean bool) {
	ctx := context.Background()
	var copied int64 // read before put: w is another call's once put
	if clean && w.calls < e.pools.recycleAfter && (e.skipRestore || w.restore(p.snap) == nil) {
		if !e.skipRestore {
			copied = int64(w.mem.restored)
		}
		if e.pools.put(p, w) {
			e.pools.count(func(s *WarmStats) { s.Restored++; s.RestoredBytes += copied })
			return
		}
		_ = w.close(ctx) // the pool has its share; closing only frees memory
		return
	}
	e.pools.count(func(s *WarmStats) { s.Discarded++ })
	_ = w.close(ctx)
	next, err := e.clone(ctx, p.compiled, p.names, p.snap)
	if err != nil {
		return // the next call clones again, and reports a host failure if it must
	}
	if !e.pools.put(p, next) {
		_ = next.close(ctx)
		return
	}
	e.pools.count(func(s *WarmStats) { s.Cloned++ })
}

// leavePool ends a claim on p and closes what the bounds evicted.
func (e *Engine) leavePool(ctx context.Context, p *modulePool) error {
	return runClosing(ctx, e.pools.leave(p))
}

// WarmStats reports what the warm pools have done so far (zero when the
// engine runs every call on a fresh instance).
func (e *Engine) WarmStats() WarmStats {
	var out WarmStats
	if e.pools != nil {
		e.pools.count(func(s *WarmStats) { out = *s })
	}
	return out
}
