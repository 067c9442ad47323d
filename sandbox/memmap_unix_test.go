//go:build unix

package sandbox

import (
	"testing"
)

// TestMemoryIsMapped: memory of a megabyte or more lives in a mapping of
// the limit's size, outside the Go heap (limitedMemory.place), whether or not its
// pages are tracked: it starts zeroed, grows in place keeping its bytes,
// is refused past the limit, and is unmapped by Free. Smaller memory stays
// on the heap.
func TestMemoryIsMapped(t *testing.T) {
	const limit = 8 << 20
	m := &limitedMemory{limit: limit}
	buf := m.Reallocate(1 << 20)
	if m.mapped == nil || len(m.mapped) != limit || len(buf) != 1<<20 {
		t.Fatalf("mapped %d bytes, buffer %d: want a mapping of the limit", len(m.mapped), len(buf))
	}
	if !allZero(buf) {
		t.Fatal("new memory is not zeroed")
	}
	buf[0], buf[len(buf)-1] = 1, 2
	grown := m.Reallocate(3 << 20)
	if len(grown) != 3<<20 || &grown[0] != &buf[0] || grown[0] != 1 || grown[1<<20-1] != 2 || !allZero(grown[1<<20:]) {
		t.Fatal("the memory did not grow in place with its bytes kept and the new ones zeroed")
	}
	if m.Reallocate(limit+pageSize) != nil || !m.refused {
		t.Fatal("a grow past the limit was not refused")
	}
	m.Free()
	if m.mapped != nil || m.buf != nil {
		t.Fatal("Free kept the mapping")
	}

	small := &limitedMemory{limit: limit}
	small.Reallocate(pageSize)
	defer small.Free()
	if small.mapped != nil {
		t.Fatal("a memory of one page was mapped")
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TestFailedInstantiationFreesMemory: an instance whose start section
// traps after touching its memory (2 MiB, mapped) leaves no mapping
// behind: wazero drops such an instance without freeing its memory, and
// each failed call would keep its limit's worth of address space and the
// pages it touched.
func TestFailedInstantiationFreesMemory(t *testing.T) {
	var freed bool
	mem := &limitedMemory{limit: DefaultLimits().Memory, inspect: func([]byte) { freed = true }}
	if err := instantiateWAT(t, "starttrap", mem); err == nil {
		t.Fatal("the start section's trap did not fail the instantiation")
	}
	if !freed || mem.mapped != nil || mem.buf != nil {
		t.Fatalf("after a failed instantiation: freed %v, mapping of %d bytes kept", freed, len(mem.mapped))
	}
}
