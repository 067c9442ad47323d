package sandbox

import (
	"fmt"

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
}

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

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() {
	if m.inspect != nil {
		m.inspect(m.buf)
	}
	m.buf = nil
}
