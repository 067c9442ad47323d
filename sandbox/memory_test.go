package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestAllocatorSurvivesInitialMemoryPastLimit bypasses admission (which
// refuses these modules first) to show the allocator's own defence: an
// initial memory past the limit neither panics the process nor lets any of
// the module's code run, in its start function or in _start.
func TestAllocatorSurvivesInitialMemoryPastLimit(t *testing.T) {
	ctx := context.Background()
	e, err := NewEngine(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	for _, name := range []string{"fill", "startloop"} { // two pages each
		t.Run(name, func(t *testing.T) {
			wasm, err := os.ReadFile(filepath.Join("testdata", "wat", name+".wasm"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := e.Load(ctx, wasm)
			if err != nil {
				t.Fatal(err)
			}
			entry, err := e.acquire(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			defer e.release(ctx, entry)
			lim := DefaultLimits()
			lim.Memory = pageSize
			state := &callState{limits: lim, logs: logSink{budget: lim.LogBytes}}
			cfg, _ := moduleConfig(m, "main", nil, nil, state)
			var touched bool
			mem := &limitedMemory{limit: lim.Memory, inspect: func(b []byte) {
				for _, c := range b {
					touched = touched || c != 0
				}
			}}
			_, err = e.instantiate(ctx, entry.rt, entry.compiled, cfg(), state, mem)
			var initial *initialMemoryError
			if !errors.As(err, &initial) || initial.pages != 2 || initial.limit != 1 {
				t.Fatalf("err = %v, want the initial memory error", err)
			}
			// startloop would spin until its deadline had its code run; fill
			// would write memory.
			if touched {
				t.Fatal("the module wrote its memory")
			}
		})
	}
}

// TestMemoryIsMapped: memory of a megabyte or more lives in a mapping of
// the limit's size, outside the Go heap (mapMemory), whether or not its
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
