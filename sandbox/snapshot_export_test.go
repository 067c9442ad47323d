package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Settle waits until the restores and clones of finished calls are done.
func (e *Engine) Settle() { e.bg.Wait() }

// SkipRestore makes the engine put instances back after a call without
// restoring them: the control that proves the isolation tests can fail.
func (e *Engine) SkipRestore(skip bool) { e.skipRestore = skip }

// CheckRestore clones a warm instance of m, runs the echo tool on it with
// text (when text is not empty), writes into its memory and globals as
// data says, restores it, and compares it with the snapshot byte for byte.
func CheckRestore(ctx context.Context, e *Engine, m *Module, text string, data []byte) error {
	p := e.pools.enter(m.Hash)
	defer e.leavePool(ctx, p)
	snap, err := e.snapshotOf(ctx, m, p, DefaultLimits())
	if err != nil || snap == nil {
		return fmt.Errorf("no snapshot: %v", err)
	}
	w, err := e.clone(ctx, p.compiled, p.names, snap)
	if err != nil {
		return err
	}
	defer w.close(ctx)
	// Twice: the second round sees the tracking the first restore set
	// up again (dirty_linux.go).
	for range 2 {
		if err := checkRestoreRound(ctx, w, snap, text, data); err != nil {
			return err
		}
	}
	return nil
}

func checkRestoreRound(ctx context.Context, w *warmInstance, snap *snapshot, text string, data []byte) error {
	if text != "" {
		args, _ := json.Marshal(map[string]string{"text": text})
		state := &callState{limits: DefaultLimits(), logs: logSink{budget: 1 << 16}, input: encodeCall("echo", args, nil)}
		if _, err := w.serve(ctx, state); err != nil || !state.resultSet {
			return fmt.Errorf("echo on a clone: %v", err)
		}
	}
	buf, _ := w.mod.Memory().Read(0, w.mod.Memory().Size())
	for len(data) >= 9 {
		if data[0]&1 == 0 {
			buf[binary.LittleEndian.Uint32(data[1:])%uint32(len(buf))] = data[5]
		} else if len(w.globals) > 0 {
			w.globals[int(data[1])%len(w.globals)].Set(binary.LittleEndian.Uint64(data[1:]))
		}
		data = data[9:]
	}
	w.counter.Set(12345)
	if err := w.restore(snap); err != nil {
		return err
	}
	buf, _ = w.mod.Memory().Read(0, w.mod.Memory().Size())
	if !bytes.Equal(buf, snap.memory) {
		return errors.New("memory differs from the snapshot after restore")
	}
	for i, g := range w.globals {
		if g.Get() != snap.globals[i] {
			return fmt.Errorf("global %d is %d after restore, %d in the snapshot", i, g.Get(), snap.globals[i])
		}
	}
	if w.counter.Get() != 0 {
		return errors.New("the fuel counter was not reset")
	}
	return nil
}

// DirtyTracking reports whether the engine restores only written pages.
func (e *Engine) DirtyTracking() bool { return e.dirty != nil }

// HoldInstances takes n warm instances of m at once (cloning as needed)
// and gives them all back, as n concurrent calls would.
func HoldInstances(t interface{ Fatal(...any) }, e *Engine, m *Module, n int) {
	ctx := context.Background()
	p := e.pools.enter(m.Hash)
	defer e.leavePool(ctx, p)
	var held []*warmInstance
	for range n {
		w, err := e.warmFor(ctx, m, p, DefaultLimits())
		if err != nil || w == nil {
			t.Fatal("no warm instance:", err)
		}
		held = append(held, w)
	}
	for _, w := range held {
		if !e.pools.put(p, w) {
			_ = w.close(ctx)
		}
	}
}

// IdleInstances counts m's idle warm instances.
func IdleInstances(e *Engine, m *Module) int {
	e.pools.mu.Lock()
	defer e.pools.mu.Unlock()
	if p := e.pools.pools[m.Hash]; p != nil {
		return len(p.idle)
	}
	return 0
}
