package fuel_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
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

// runWithFuel runs _start of an instrumented module with a fuel budget and
// returns the fuel used and the error.
func runWithFuel(t testing.TB, wasm []byte, budget int64) (used int64, err error) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	instantiateRefuel(t, rt)
	acct := &account{budget: budget}
	ctx = context.WithValue(ctx, accountKey{}, acct)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiating the instrumented module: %v", err)
	}
	_, err = mod.ExportedFunction("_start").Call(ctx)
	return acct.used(int64(mod.ExportedGlobal(fuel.GlobalExport).Get())), err
}

func TestInfiniteLoopRunsOutOfFuel(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/spin.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	used, err := runWithFuel(t, out, 3_000_000)
	if !errors.Is(err, errOutOfFuel) || used < 3_000_000 {
		t.Fatalf("used %d, err %v", used, err)
	}
}

func TestRecursionRunsOutOfFuel(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/recurse.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runWithFuel(t, out, 1000); !errors.Is(err, errOutOfFuel) {
		t.Fatalf("recursion with 1000 fuel: err %v", err)
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

// TestBulkMemoryIsChargedBySize: memory.fill costs one unit per 16 bytes, so
// a loop of a few instructions moving 64 MB pays for the 64 MB.
func TestBulkMemoryIsChargedBySize(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/fill.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	used, err := runWithFuel(t, out, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	const want = 1000 * (64 << 10) / 16
	if used < want || used > want+20_000 {
		t.Fatalf("used %d fuel, want about %d", used, want)
	}
	// With a smaller budget the loop stops part way.
	if _, err := runWithFuel(t, out, want/2); !errors.Is(err, errOutOfFuel) {
		t.Fatalf("with half the fuel: %v", err)
	}
}

// TestTablesAreCapped: the tables' maxima are lowered to share the cap,
// tables that start past it are refused, and an invalid maximum is left
// for the engine to refuse.
func TestTablesAreCapped(t *testing.T) {
	// Two tables: funcref min 10 without a maximum, funcref min 5 max 100.
	two := []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 4, 8, 2, 0x70, 0x00, 10, 0x70, 0x01, 5, 100}
	out, err := fuel.Instrument(two, fuel.Options{MaxTableElements: 50})
	if err != nil {
		t.Fatal(err)
	}
	// 15 elements to start, 35 to grow: all to the first table.
	if want := []byte{4, 9, 2, 0x70, 0x01, 10, 45, 0x70, 0x01, 5, 5}; !bytes.Contains(out, want) {
		t.Fatalf("table section not capped as % x:\n% x", want, out)
	}
	if _, err := fuel.Instrument(two, fuel.Options{MaxTableElements: 14}); err == nil || !strings.Contains(err.Error(), "tables start with 15 elements") {
		t.Fatalf("tables past the cap: err = %v", err)
	}
	invalid := []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 4, 5, 1, 0x70, 0x01, 5, 3}
	out, err = fuel.Instrument(invalid, fuel.Options{MaxTableElements: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte{4, 5, 1, 0x70, 0x01, 5, 3}) {
		t.Fatalf("an invalid maximum was changed:\n% x", out)
	}
}

// TestTableGrowIsChargedByCount: table.grow pays one unit per 16 new
// elements, like the other bulk instructions, whether or not the grow
// succeeds (the cap refuses most of these).
func TestTableGrowIsChargedByCount(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/tablegrow.wasm"), fuel.Options{MaxTableElements: 1 << 18})
	if err != nil {
		t.Fatal(err)
	}
	used, err := runWithFuel(t, out, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	const want = 1_000_000 * 4096 / 16
	if used < want || used > want+20_000_000 { // plus a dozen instructions a round
		t.Fatalf("used %d fuel, want about %d", used, want)
	}
}
