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
	for _, name := range []string{"fill", "startloop"} { // two pages each
		t.Run(name, func(t *testing.T) {
			var touched bool
			mem := &limitedMemory{limit: pageSize, inspect: func(b []byte) {
				for _, c := range b {
					touched = touched || c != 0
				}
			}}
			err := instantiateWAT(t, name, mem)
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

// instantiateWAT instantiates testdata/wat/<name>.wasm, bypassing
// admission, on an engine of its own, with mem as its memory (mem.limit its
// memory limit) and the default limits otherwise.
func instantiateWAT(t *testing.T, name string, mem *limitedMemory) error {
	t.Helper()
	ctx := context.Background()
	e, err := NewEngine(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
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
	lim.Memory = mem.limit
	state := &callState{limits: lim, logs: logSink{budget: lim.LogBytes}}
	cfg, _ := moduleConfig(m, "main", nil, nil, state)
	_, err = e.instantiate(ctx, entry.rt, entry.compiled, cfg(), state, mem)
	return err
}
