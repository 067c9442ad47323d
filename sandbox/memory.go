package sandbox

import "github.com/tetratelabs/wazero/experimental"

// limitedMemory backs one instance's linear memory. It enforces the call's
// memory limit and records the peak size, both per call, which a runtime-wide
// wazero setting cannot do.
type limitedMemory struct {
	limit   uint64
	buf     []byte
	peak    uint64
	refused bool         // a grow past the limit was refused
	inspect func([]byte) // tests only: sees the memory before it is freed
}

var _ experimental.MemoryAllocator = (*limitedMemory)(nil)

// Allocate implements experimental.MemoryAllocator. One limitedMemory serves
// one instance, which has at most one memory under the ABI.
func (m *limitedMemory) Allocate(_, _ uint64) experimental.LinearMemory { return m }

// Reallocate implements experimental.LinearMemory. Returning nil makes
// memory.grow return -1 inside the module.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil
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
