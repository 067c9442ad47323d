package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
)

// Tiers: wazero's compiler takes seconds for a Go module (4.6-5.5 s for
// 3.6 MB here), its interpreter a fraction of that. A module that is not
// compiled yet, in memory or in the on-disk cache, is served from the
// interpreter at once while one of a bounded number of background workers
// compiles it (or fetches the compiled form another node made, artifact.go);
// calls that start after that use the compiled form. Fuel is injected into
// the module's code, so a call costs the same fuel in either tier.

// DefaultInterpreterTimeFactor is Config.InterpreterTimeFactor's default:
// wazero's interpreter runs a Go module's code roughly ten times slower
// than its compiler's output.
const DefaultInterpreterTimeFactor = 10

// interpreted reports whether entry is the interpreter's form of a module
// (its compile still pending or refused), and if so gives the call the
// interpreter's time (Config.InterpreterTimeFactor).
func (e *Engine) interpreted(entry *compiledEntry, lim *Limits) bool {
	if entry.lru == e.lru {
		return false
	}
	if f := time.Duration(e.interpreterTime); lim.Timeout < math.MaxInt64/f {
		lim.Timeout *= f
	}
	return true
}

// TierStats counts what the tiers did, for tests, metrics and benchmarks.
type TierStats struct {
	Interpreted       int64 // modules prepared for the interpreter
	Compiled          int64 // runs of wazero's compiler (the expensive part)
	FromDisk          int64 // compiled modules loaded from the on-disk cache
	ArtifactsLoaded   int64 // compiled modules taken from the shared store
	ArtifactsSaved    int64 // compiled modules given to the shared store
	ArtifactsRejected int64 // stored artifacts refused: corrupt, foreign or unusable
	ArtifactErrors    int64 // the shared store failed (the module is compiled here)
}

// tiers tracks background compiles: at most one per module, at most
// Config.BackgroundCompiles at once.
type tiers struct {
	slots   chan struct{}
	mu      sync.Mutex
	pending map[string]chan struct{} // closed when the module's compile ends
	// failed holds modules the compiler refused although the interpreter
	// took them: their calls stay on the interpreter rather than start a
	// compile that fails again on every call.
	failed map[string]bool
	// closed is set by Engine.Close before it waits for the workers: no
	// worker starts after it, so none is added to a WaitGroup being waited.
	closed bool
	stats  TierStats
	ilru   *compiledLRU // interpreter forms, until the compiled one is ready
}

func newTiers(workers, maxInterpreted int) *tiers {
	if workers <= 0 {
		workers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	return &tiers{slots: make(chan struct{}, workers), pending: map[string]chan struct{}{}, failed: map[string]bool{}, ilru: newCompiledLRU(maxInterpreted)}
}

func (t *tiers) count(f func(*TierStats)) {
	t.mu.Lock()
	f(&t.stats)
	t.mu.Unlock()
}

// TierStats reports what the tiers have done so far.
func (e *Engine) TierStats() TierStats {
	var out TierStats
	e.tiers.count(func(s *TierStats) { out = *s })
	return out
}

// WaitCompiled blocks until no background compile of m is pending (or ctx
// ends), so tests and benchmarks can wait for the swap without sleeping,
// and a replay (mcphost.Replay) runs compiled code.
func (e *Engine) WaitCompiled(ctx context.Context, m *Module) error {
	e.tiers.mu.Lock()
	done := e.tiers.pending[m.code]
	e.tiers.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sandbox: waiting for the compiler: %w", ctx.Err())
	}
}

// Native reports whether m's calls now run compiled code.
func (e *Engine) Native(m *Module) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.lru.byHash[m.code]
	return ok
}

// acquire returns the module's compiled form from the in-memory LRU, or
// from the on-disk cache, or else the interpreter's form while a
// background worker compiles it. Without tiers (Config.NoInterpreter) it
// compiles here. The caller must release the entry when its call is over.
func (e *Engine) acquire(ctx context.Context, m *Module) (*compiledEntry, error) {
	e.mu.Lock()
	entry, ok := e.lru.acquire(m.code)
	e.mu.Unlock()
	if ok {
		return entry, nil
	}
	if e.irt == nil {
		return e.compileNow(ctx, m)
	}
	if !m.interpretOnly {
		if e.disk != nil && e.disk.hasNative(e, m) {
			entry, err := e.compileNow(ctx, m)
			if err == nil {
				e.tiers.count(func(s *TierStats) { s.FromDisk++ })
				return entry, nil
			}
			// A cache file wazero refuses (truncated, another build):
			// forget it and compile it afresh in the background.
			e.disk.forgetNative(e, m)
		}
		// The interpreter's form first: the compiler, started after, does
		// not compete with it for the CPU.
		entry, err := e.acquireInterpreted(ctx, m)
		if err == nil {
			e.compileLater(m)
		}
		return entry, err
	}
	return e.acquireInterpreted(ctx, m)
}

// compileNow compiles m with the compiler runtime (from wazero's on-disk
// cache when it has the module) and keeps it in the LRU.
func (e *Engine) compileNow(ctx context.Context, m *Module) (*compiledEntry, error) {
	c, err := e.rt.CompileModule(ctx, m.wasm)
	if err != nil {
		return nil, compileError(ctx, err)
	}
	return e.keep(ctx, e.lru, m.code, e.rt, c)
}

// acquireInterpreted returns m's interpreter form, preparing it if needed.
func (e *Engine) acquireInterpreted(ctx context.Context, m *Module) (*compiledEntry, error) {
	e.mu.Lock()
	entry, ok := e.tiers.ilru.acquire(m.code)
	e.mu.Unlock()
	if ok {
		return entry, nil
	}
	c, err := e.irt.CompileModule(ctx, m.wasm)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sandbox: preparing module: %w", ctx.Err())
		}
		return nil, badModule("it does not compile: %v", err)
	}
	e.tiers.count(func(s *TierStats) { s.Interpreted++ })
	return e.keep(ctx, e.tiers.ilru, m.code, e.irt, c)
}

// keep adds a compiled module to lru with one reference for the caller,
// unless another call added one meanwhile (then c is closed and that one
// returned), and closes what the addition evicted.
func (e *Engine) keep(ctx context.Context, lru *compiledLRU, hash string, rt wazero.Runtime, c wazero.CompiledModule) (*compiledEntry, error) {
	e.mu.Lock()
	if entry, ok := lru.acquire(hash); ok {
		e.mu.Unlock()
		return entry, c.Close(ctx)
	}
	entry, closable := lru.add(hash, c)
	entry.rt = rt
	e.mu.Unlock()
	var closeErr error
	for _, old := range closable {
		closeErr = errors.Join(closeErr, old.Close(ctx))
	}
	if closeErr != nil {
		return nil, errors.Join(fmt.Errorf("sandbox: closing evicted modules: %w", closeErr), e.release(ctx, entry))
	}
	return entry, nil
}

func (e *Engine) release(ctx context.Context, entry *compiledEntry) error {
	e.mu.Lock()
	closeNow := entry.lru.release(entry)
	e.mu.Unlock()
	if closeNow {
		return entry.compiled.Close(ctx)
	}
	return nil
}

// compileLater starts m's background compile unless one is pending. It
// runs on a worker slot, detached from the caller's context: the compiled
// form is for every later call. Engine.Close waits for it.
func (e *Engine) compileLater(m *Module) {
	e.tiers.mu.Lock()
	if _, ok := e.tiers.pending[m.code]; ok || e.tiers.failed[m.code] || e.tiers.closed {
		e.tiers.mu.Unlock()
		return
	}
	done := make(chan struct{})
	e.tiers.pending[m.code] = done
	e.bg.Add(1) // under the lock, so never after close set closed and began to wait
	e.tiers.mu.Unlock()
	go func() {
		defer e.bg.Done()
		defer func() {
			e.tiers.mu.Lock()
			delete(e.tiers.pending, m.code)
			e.tiers.mu.Unlock()
			close(done)
		}()
		ctx := e.bgCtx
		entry, err := e.compileShared(ctx, m)
		var bad *BadModuleError
		if errors.As(err, &bad) {
			e.tiers.mu.Lock()
			e.tiers.failed[m.code] = true
			e.tiers.mu.Unlock()
		}
		if err != nil {
			return // calls stay on the interpreter; a host failure is tried again by the next call
		}
		_ = e.release(ctx, entry) // the LRU keeps it
		e.dropInterpreted(ctx, m.code)
	}()
}

// dropInterpreted forgets a module's interpreter form once its compiled
// form is in the LRU; calls still using it finish first.
func (e *Engine) dropInterpreted(ctx context.Context, hash string) {
	e.mu.Lock()
	el, ok := e.tiers.ilru.byHash[hash]
	var closeNow *compiledEntry
	if ok {
		entry := el.Value.(*compiledEntry)
		e.tiers.ilru.order.Remove(el)
		delete(e.tiers.ilru.byHash, hash)
		entry.evicted = true
		if entry.refs == 0 {
			closeNow = entry
		}
	}
	e.mu.Unlock()
	if closeNow != nil {
		_ = closeNow.compiled.Close(ctx) // only frees memory
	}
}

// acquireSlot takes one of the background compile slots, which bound how
// many compiles run at once (each takes a core for seconds).
func (e *Engine) acquireSlot(ctx context.Context) error {
	// select picks at random among ready cases: an ended context must
	// win over a free slot.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sandbox: waiting to compile: %w", err)
	}
	select {
	case e.tiers.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sandbox: waiting to compile: %w", ctx.Err())
	}
}

func (e *Engine) releaseSlot() { <-e.tiers.slots }

// close stops new background compiles; Engine.Close then waits for the
// running ones.
func (t *tiers) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}
