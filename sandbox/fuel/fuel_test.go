package fuel_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// runWithFuel instantiates an instrumented module, gives it fuel and runs
// _start; it returns the fuel left and the error.
func runWithFuel(t testing.TB, wasm []byte, fuelGiven int64) (left int64, err error) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiating the instrumented module: %v", err)
	}
	g := mod.ExportedGlobal(fuel.GlobalExport).(api.MutableGlobal)
	g.Set(uint64(fuelGiven))
	_, err = mod.ExportedFunction("_start").Call(ctx)
	return int64(g.Get()), err
}

func TestInfiniteLoopRunsOutOfFuel(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/spin.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	left, err := runWithFuel(t, out, 1_000_000)
	if err == nil {
		t.Fatal("an infinite loop finished")
	}
	if left >= 0 {
		t.Fatalf("trapped with %d fuel left: %v", left, err)
	}
}

func TestRecursionRunsOutOfFuel(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/recurse.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	left, err := runWithFuel(t, out, 1000)
	if err == nil || left >= 0 {
		t.Fatalf("recursion with 1000 fuel: left %d, err %v", left, err)
	}
}

func TestReservedExportNamesAreRefused(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/spin.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Instrumenting twice would let a module bring its own counter.
	if _, err := fuel.Instrument(out, fuel.Options{}); err == nil {
		t.Fatal("instrumented an already instrumented module")
	}
}

func TestUnsupportedInstructionIsRefused(t *testing.T) {
	// (module (func (export "_start") atomic.fence)) by hand: 0xfe 0x03 0x00
	wasm := []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
		1, 4, 1, 0x60, 0, 0, // type () -> ()
		3, 2, 1, 0, // one function of type 0
		10, 7, 1, 5, 0, 0xfe, 0x03, 0x00, 0x0b, // body: no locals, atomic.fence, end
	}
	_, err := fuel.Instrument(wasm, fuel.Options{})
	var unsupported *fuel.UnsupportedError
	if !errors.As(err, &unsupported) {
		t.Fatalf("err = %v, want an UnsupportedError", err)
	}
}
