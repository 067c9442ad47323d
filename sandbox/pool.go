package sandbox

import (
	"container/list"
	"context"
	"errors"
	"sync"

	"github.com/tetratelabs/wazero"
)

// Defaults for the warm pools (Config).
const (
	defaultWarmPerModule = 4
	defaultWarmInstances = 256
	defaultRecycleAfter  = 1000
)

// WarmStats counts what the warm pools did, for tests and benchmarks.
type WarmStats struct {
	Initialised int64 // instances initialised by running the module (one per snapshot)
	Cloned      int64 // instances made from a snapshot
	Served      int64 // calls served on a warm instance
	Restored    int64 // instances restored after a call and kept
	// RestoredBytes is the memory those restores copied: all of it, or
	// only the pages the calls wrote (dirty_linux.go).
	RestoredBytes int64
	Discarded     int64 // instances closed after a call that could not be restored exactly
	Evicted       int64 // idle instances and snapshots dropped to stay within the bounds
}

// warmPools holds, per reactor module, the snapshot taken after its
// initialisation and idle instances in that state. Idle instances and
// snapshots together stay within maxIdle instances and maxBytes of memory;
// the modules least recently called lose theirs first.
type warmPools struct {
	perModule, maxIdle, recycleAfter int
	maxBytes                         uint64

	mu    sync.Mutex
	pools map[string]*modulePool
	order *list.List // of *modulePool, most recently used first
	idle  int
	bytes uint64 // snapshots and idle instances' memory
	stats WarmStats
}

// modulePool is one module's snapshot and idle instances.
type modulePool struct {
	hash     string
	elem     *list.Element
	init     sync.Mutex // one initialisation at a time
	compiled wazero.CompiledModule
	release  func(context.Context) error // gives the compiled module back to the LRU
	names    []string                    // the mutable globals' export names
	snap     *snapshot
	failed   bool // its initialisation failed: calls use fresh instances
	idle     []*warmInstance
	active   int // calls and background work using the pool
	// restoring counts instances being restored after a call; ready is
	// closed (and replaced) whenever one is done, for calls that wait for
	// it rather than clone (waitRestore).
	restoring int
	ready     chan struct{}
}

// newWarmPoolsFor applies Config's defaults; nil with FreshInstances.
func newWarmPoolsFor(cfg Config) *warmPools {
	if cfg.FreshInstances {
		return nil
	}
	if cfg.WarmPerModule <= 0 {
		cfg.WarmPerModule = defaultWarmPerModule
	}
	if cfg.WarmInstances <= 0 {
		cfg.WarmInstances = defaultWarmInstances
	}
	if cfg.WarmMemory == 0 {
		cfg.WarmMemory = cfg.MemoryBudget / 4
	}
	if cfg.RecycleAfter <= 0 {
		cfg.RecycleAfter = defaultRecycleAfter
	}
	return newWarmPools(cfg.WarmPerModule, cfg.WarmInstances, cfg.RecycleAfter, cfg.WarmMemory)
}

func newWarmPools(perModule, maxIdle, recycleAfter int, maxBytes uint64) *warmPools {
	return &warmPools{perModule: perModule, maxIdle: maxIdle, recycleAfter: recycleAfter, maxBytes: maxBytes,
		pools: map[string]*modulePool{}, order: list.New()}
}

// enter returns the module's pool, most recently used now, and counts the
// caller as active until leave.
func (wp *warmPools) enter(hash string) *modulePool {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	p, ok := wp.pools[hash]
	if !ok {
		p = &modulePool{hash: hash}
		p.elem = wp.order.PushFront(p)
		wp.pools[hash] = p
	}
	wp.order.MoveToFront(p.elem)
	p.active++
	return p
}

// leave ends enter's claim and returns what must be closed to stay within
// the bounds.
func (wp *warmPools) leave(p *modulePool) []func(context.Context) error {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	p.active--
	return wp.trim()
}

// take returns an idle instance of p, or nil.
func (wp *warmPools) take(p *modulePool) *warmInstance {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	w := p.idle[n-1]
	p.idle = p.idle[:n-1]
	wp.idle--
	wp.bytes -= uint64(cap(w.mem.buf))
	return w
}

// restoreStarted records that an instance of p is being restored.
func (wp *warmPools) restoreStarted(p *modulePool) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	p.restoring++
}

// restoreDone ends restoreStarted and wakes the calls waiting for it.
func (wp *warmPools) restoreDone(p *modulePool) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	p.restoring--
	if p.ready != nil {
		close(p.ready)
		p.ready = nil
	}
}

// waitRestore waits until an instance of p being restored is done, and
// reports false at once when none is (or ctx ends): restoring a Go
// module's memory takes a fraction of what cloning takes.
func (wp *warmPools) waitRestore(ctx context.Context, p *modulePool) bool {
	wp.mu.Lock()
	if p.restoring == 0 {
		wp.mu.Unlock()
		return false
	}
	if p.ready == nil {
		p.ready = make(chan struct{})
	}
	ready := p.ready
	wp.mu.Unlock()
	select {
	case <-ready:
		return true
	case <-ctx.Done():
		return false
	}
}

// put keeps an instance in p's snapshot state as idle, or reports it must
// be closed (p has its share of idle instances already).
func (wp *warmPools) put(p *modulePool, w *warmInstance) bool {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if len(p.idle) >= wp.perModule || p.snap == nil {
		return false
	}
	p.idle = append(p.idle, w)
	wp.idle++
	wp.bytes += uint64(cap(w.mem.buf))
	return true
}

// setSnapshot records p's snapshot (and the compiled module it needs).
func (wp *warmPools) setSnapshot(p *modulePool, s *snapshot, compiled wazero.CompiledModule, release func(context.Context) error, names []string) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	p.snap, p.compiled, p.release, p.names = s, compiled, release, names
	wp.bytes += uint64(len(s.memory))
}

// trim closes idle instances, then snapshots, of the least recently used
// modules until the pools are within their bounds. It runs under wp.mu and
// returns the closing work, to be done outside it.
func (wp *warmPools) trim() []func(context.Context) error {
	var closing []func(context.Context) error
	for e := wp.order.Back(); e != nil && (wp.idle > wp.maxIdle || wp.bytes > wp.maxBytes); {
		p := e.Value.(*modulePool)
		prev := e.Prev()
		for len(p.idle) > 0 && (wp.idle > wp.maxIdle || wp.bytes > wp.maxBytes) {
			w := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			wp.idle--
			wp.bytes -= uint64(cap(w.mem.buf))
			wp.stats.Evicted++
			closing = append(closing, w.close)
		}
		if len(p.idle) == 0 && p.active == 0 && wp.bytes > wp.maxBytes {
			closing = append(closing, wp.drop(p)...)
		}
		e = prev
	}
	// Pools with nothing in them are forgotten once idle.
	for e := wp.order.Back(); e != nil; {
		p, prev := e.Value.(*modulePool), e.Prev()
		if p.active == 0 && p.snap == nil && !p.failed {
			wp.order.Remove(e)
			delete(wp.pools, p.hash)
		}
		e = prev
	}
	return closing
}

// drop forgets p and its snapshot; its compiled module is released.
func (wp *warmPools) drop(p *modulePool) []func(context.Context) error {
	var closing []func(context.Context) error
	if p.snap != nil {
		wp.bytes -= uint64(len(p.snap.memory))
		wp.stats.Evicted++
	}
	if p.release != nil {
		closing = append(closing, p.release)
	}
	p.snap, p.compiled, p.release = nil, nil, nil
	wp.order.Remove(p.elem)
	delete(wp.pools, p.hash)
	return closing
}

// closeAll empties every pool (Engine.Close).
func (wp *warmPools) closeAll(ctx context.Context) error {
	wp.mu.Lock()
	var closing []func(context.Context) error
	for _, p := range wp.pools {
		for _, w := range p.idle {
			closing = append(closing, w.close)
		}
		p.idle = nil
		closing = append(closing, wp.drop(p)...)
	}
	wp.idle, wp.bytes = 0, 0
	wp.mu.Unlock()
	return runClosing(ctx, closing)
}

func runClosing(ctx context.Context, closing []func(context.Context) error) error {
	var err error
	for _, c := range closing {
		err = errors.Join(err, c(ctx))
	}
	return err
}

func (wp *warmPools) count(f func(*WarmStats)) {
	wp.mu.Lock()
	f(&wp.stats)
	wp.mu.Unlock()
}
