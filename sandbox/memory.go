package sandbox

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// limitedMemory backs one instance's linear memory. It enforces the call's
// memory limit and records the peak size, both per call, which a runtime-wide
// wazero setting cannot do.
type limitedMemory struct {
	limit   uint64
	buf     []byte
	peak    uint64
	started bool         // the initial allocation was made
	refused bool         // a grow past the limit was refused
	inspect func([]byte) // tests only: sees the memory before it is freed
	// initial is set when the initial memory was past the limit (see
	// Reallocate); the meter then ends the call at its first check.
	initial *initialMemoryError
	// mapped is the anonymous mapping of limit bytes the memory lives in,
	// outside the Go heap (place); nil when it is on the heap. tracker,
	// when set before the first allocation, makes the mapping a tracked
	// one (dirty_linux.go), region. A grow past the mapping moves the
	// memory to the Go heap (untracked), and the instance cannot be
	// restored anyway (its size differs from the snapshot's).
	mapped    []byte
	tracker   *dirtyTracker
	region    *trackedRegion
	untracked bool
	// synced: the tracked memory equals the snapshot except for the pages
	// the kernel reports written (restoreFrom has copied it whole once).
	synced  bool
	written []pageRegion
	// hot is how many bytes of the tracked memory the last restore left
	// writable (restoreFrom); at most 1/hotFraction of the memory.
	hot uint64
	// restored is how many bytes the last restoreFrom copied.
	restored uint64
}

// hotFraction bounds the hot set (restoreFrom): at most this fraction of
// the memory stays writable between calls. Every restore copies the whole
// hot set, including pages the last call did not write, off the call's
// latency, where a write-protect fault (about 1 µs) is on it; the bound
// keeps a hot set gone stale from costing more than a fraction of copying
// all of memory.
const hotFraction = 8

// initialMemoryError: the module's initial memory exceeds the call's limit.
type initialMemoryError struct{ pages, limit uint32 }

func (e *initialMemoryError) Error() string {
	return fmt.Sprintf("the module's initial memory (%d pages) exceeds the limit of %d pages", e.pages, e.limit)
}

var _ experimental.MemoryAllocator = (*limitedMemory)(nil)

// Allocate implements experimental.MemoryAllocator. One limitedMemory serves
// one instance, which has at most one memory under the ABI.
func (m *limitedMemory) Allocate(_, _ uint64) experimental.LinearMemory { return m }

// Reallocate implements experimental.LinearMemory. Returning nil makes
// memory.grow return -1 inside the module.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	initial := !m.started
	m.started = true
	if size > m.limit {
		m.refused = true
		if !initial {
			return nil
		}
		// wazero cannot take a refusal of the initial memory: it slices
		// the buffer to the initial size, and nil panics the host process.
		// admit refuses such modules before they are instantiated; should
		// one get here anyway, it gets its memory (no more than the
		// engine-wide cap, which the instrumenter enforces) and the meter
		// ends the call before any of its code runs.
		m.initial = &initialMemoryError{pages: uint32(size / pageSize), limit: uint32(m.limit / pageSize)}
	}
	if initial && size <= m.limit {
		m.place(size)
	}
	if m.mapped != nil && !m.untracked {
		if size <= uint64(len(m.mapped)) {
			// Capacity is what the pools count as the instance's memory
			// (pool.go): the size, not the mapping, most of which is
			// never touched and so never resident.
			m.buf = m.mapped[:size:size]
			m.peak = max(m.peak, size)
			return m.buf
		}
		m.untracked = true
	}
	if size > uint64(cap(m.buf)) {
		// Double like append would, but never reserve beyond the limit.
		newCap := max(size, min(2*uint64(cap(m.buf)), m.limit))
		grown := make([]byte, size, newCap)
		copy(grown, m.buf)
		m.buf = grown
	} else {
		m.buf = m.buf[:size]
	}
	m.peak = max(m.peak, size)
	return m.buf
}

// instantiateIn instantiates compiled with mem as its linear memory: every
// instance the sandbox makes is made here. wazero drops an instance whose
// instantiation failed (its start section trapped, say) without freeing
// its memory, which in a mapping nothing else would unmap: it is freed
// here then.
func instantiateIn(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule, cfg wazero.ModuleConfig, mem *limitedMemory) (api.Module, error) {
	inst, err := rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, mem), compiled, cfg)
	if err != nil {
		mem.Free()
	}
	return inst, err
}

// Free implements experimental.LinearMemory. instantiateIn calls it too,
// when an instantiation fails; a second call does nothing.
func (m *limitedMemory) Free() {
	if m.inspect != nil && m.buf != nil {
		m.inspect(m.buf)
	}
	m.buf = nil
	// Nothing refers to the mapping now; an unmap cannot fail here.
	if m.region != nil {
		_ = m.region.close()
	} else if m.mapped != nil {
		_ = unmapMemory(m.mapped)
	}
	m.region, m.mapped = nil, nil
}

// place puts the memory, at its first allocation (of size bytes), in an
// anonymous mapping of limit bytes: a tracked one when the engine tracks
// written pages (dirty_linux.go), else, for a megabyte or more, a plain one
// (memmap_unix.go).
// Not on the Go heap: an instance's memory is megabytes (a Go module's
// starts at 5 MiB), which a call on a fresh instance would allocate and
// zero, and leave to the collector, every call; that garbage made the
// process collect every few such calls and slowed every other call in it
// (RATIONALE.md, "Instance memory outside the Go heap"). A mapping costs
// two system calls and a page fault per page the instance touches; it
// grows in place, up to the limit, without a copy. The memory stays on the
// heap when it is small or the kernel refuses the mapping.
func (m *limitedMemory) place(size uint64) {
	n := int((m.limit + hostPage - 1) / hostPage * hostPage)
	if m.tracker != nil && m.limit >= dirtyTrackingMinBytes {
		// Untracked when the kernel refuses: restore then copies it all.
		if r, err := m.tracker.track(n); err == nil {
			m.region, m.mapped = r, r.buf
			return
		}
	}
	if size >= dirtyTrackingMinBytes {
		m.mapped, _ = mapMemory(n)
	}
}

// restoreFrom makes the memory equal to snap (of the same length): only
// the pages written since the last restore when they are tracked, else
// all of it.
//
// Tracked pages a restore copies stay writable (the hot set), as long as
// they are at most 1/hotFraction of the memory: the next call, which
// likely writes the same pages (the stack, the allocator's spans, the
// call document), then writes them without taking a write-protect fault
// each. It is exact because the kernel reports every page that is not
// write-protected, written or not, so each restore copies the whole hot
// set again, and a page outside it is protected and reported once
// written. Past the bound, the written pages are protected again and the
// hot set starts over from what the next call writes.
func (m *limitedMemory) restoreFrom(snap []byte) error {
	m.restored = uint64(len(snap))
	if m.region == nil || m.untracked {
		copy(m.buf, snap)
		return nil
	}
	// Pages past the memory's size can be written only after a grow,
	// which makes the instance unrestorable: they are not tracked.
	base, size := m.region.base(), (uint64(len(snap))+hostPage-1)/hostPage*hostPage
	var err error
	if m.synced {
		m.written, err = m.tracker.written(m.region, size, m.written[:0])
	}
	if !m.synced || err != nil {
		copy(m.buf, snap)
		m.synced, m.hot = true, 0
		return m.region.protect(0, size)
	}
	m.restored = 0
	for _, r := range m.written {
		off, end := min(r.start-base, uint64(len(snap))), min(r.end-base, uint64(len(snap)))
		m.restored += end - off
		copy(m.buf[off:end], snap[off:end])
	}
	m.hot = 0
	for _, r := range m.written {
		m.hot += r.end - r.start
	}
	if m.hot <= size/hotFraction {
		return nil
	}
	m.hot = 0
	// One protect over the span of the written ranges (in address order):
	// each call costs a TLB flush on every core running the process, far
	// more than protecting pages between them that are protected already.
	first, last := m.written[0].start-base, m.written[len(m.written)-1].end-base
	if err := m.region.protect(first, last-first); err != nil {
		m.synced = false // the next restore copies everything
		return err
	}
	return nil
}
