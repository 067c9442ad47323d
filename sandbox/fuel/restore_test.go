package fuel_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/kilnhq/kiln/sandbox/fuel"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// TestMutableGlobalsAreExported: every mutable global a module defines is
// exported under fuel.GlobalExportPrefix and can be set by the host, which
// is what restoring an instance from a snapshot needs.
func TestMutableGlobalsAreExported(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "toolkits/wat/echo.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	instantiateRefuel(t, rt)
	i32 := api.ValueTypeI32
	nop := api.GoFunc(func(context.Context, []uint64) {})
	if _, err := rt.NewHostModuleBuilder("kiln").
		NewFunctionBuilder().WithGoFunction(nop, []api.ValueType{i32, i32}, nil).Export("result").
		NewFunctionBuilder().WithGoFunction(nop, []api.ValueType{i32, i32, i32}, nil).Export("log").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	inst, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	// echo's only mutable global is $calls, global 0.
	g, ok := inst.ExportedGlobal(fuel.GlobalExportPrefix + "0").(api.MutableGlobal)
	if !ok {
		t.Fatalf("global 0 is not exported as a mutable global")
	}
	g.Set(41)
	if g.Get() != 41 {
		t.Fatalf("set 41, got %d", g.Get())
	}
	if inst.ExportedGlobal(fuel.GlobalExportPrefix+"1") != nil {
		t.Fatal("an immutable global was exported")
	}
	if names, ok := fuel.RestorableGlobals(out); !ok || len(names) != 1 || names[0] != fuel.GlobalExportPrefix+"0" {
		t.Fatalf("echo changes no table, yet RestorableGlobals says %v, %v", names, ok)
	}
}

// TestTableMutationIsNotRestorable: a module that changes a table keeps
// state outside memory and globals, so it is not marked restorable, and an
// input cannot claim the mark or the reserved export names.
func TestTableMutationIsNotRestorable(t *testing.T) {
	out, err := fuel.Instrument(readFixture(t, "sandbox/testdata/wat/tablegrow.wasm"), fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fuel.RestorableGlobals(out); ok {
		t.Fatal("a module with table.grow is marked restorable")
	}
	in := readFixture(t, "sandbox/testdata/wat/tablegrow.wasm")
	name := fuel.RestorableSection
	claimed := append(append([]byte(nil), in...), 0, byte(len(name)+1), byte(len(name)))
	claimed = append(claimed, name...)
	if out, err = fuel.Instrument(claimed, fuel.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := fuel.RestorableGlobals(out); ok {
		t.Fatalf("an input's own %s section survived (err %v)", fuel.RestorableSection, err)
	}
}

// TestManifestDoesNotChangeTheRewrite: a module rewrites to the same bytes
// with and without its manifest section, so the build path (describe
// without the manifest, then load with it) compiles one module, not two.
func TestManifestDoesNotChangeTheRewrite(t *testing.T) {
	with := readFixture(t, "toolkits/wat/echo.wasm")
	sections, err := manifest.Sections(with)
	if err != nil {
		t.Fatal(err)
	}
	without := append([]byte(nil), with[:8]...)
	found := false
	for _, s := range sections {
		if s.ID == 0 && s.Name == manifest.SectionName {
			found = true
			continue
		}
		without = append(without, with[s.Start:s.End]...)
	}
	if !found {
		t.Fatal("the fixture has no manifest section")
	}
	a, err := fuel.Instrument(with, fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fuel.Instrument(without, fuel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the manifest section changed the instrumented module")
	}
}
