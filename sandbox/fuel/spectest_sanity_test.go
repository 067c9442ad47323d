package fuel_test

// Sanity tests of the spec harness itself: it must pass a correct
// instrumenter and fail broken ones, and it must check the raw world against
// the JSON. The modules are hand-encoded; fake "instrumenters" map them to
// hand-made metered variants, so the fuel paths of the harness are
// exercised independently of the real rewriter.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tetratelabs/wazero/api"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

// sanityModule encodes
//
//	(module
//	  (global $g (export "g") (mut i32) (i32.const 0))
//	  (func (export "answer") (result i32) i32.const 42)
//	  (func (export "boom") unreachable)
//	  (func $start i32.const 7 global.set $g)
//	  (func (export "get_g") (result i32) global.get $g)
//	  (start $start))
//
// and, when metered, the form a fuel rewriter would give it: a mutable
// counter (global 1, of type fuelType, starting full) exported as kiln.fuel,
// each function charging `charge` on entry and trapping when the counter
// goes negative, and the start section kept (if keepStart).
func sanityModule(metered bool, charge int64, fuelType byte, keepStart bool) []byte {
	var prologue []byte
	if metered && charge != 0 {
		prologue = specCat(
			[]byte{0x23, 0x01, 0x42}, specSLEB(charge), // global.get 1; i64.const charge
			[]byte{0x7d, 0x24, 0x01},             // i64.sub; global.set 1
			[]byte{0x23, 0x01, 0x42, 0x00, 0x53}, // global.get 1; i64.const 0; i64.lt_s
			[]byte{0x04, 0x40, 0x00, 0x0b},       // if unreachable end
		)
	}
	fn := func(code ...byte) []byte { return specBody(append(append([]byte(nil), prologue...), code...)...) }
	globals := [][]byte{{specI32, 0x01, 0x41, 0x00, 0x0b}}
	exports := [][]byte{
		specCat(specName("answer"), []byte{0x00, 0x00}),
		specCat(specName("boom"), []byte{0x00, 0x01}),
		specCat(specName("get_g"), []byte{0x00, 0x03}),
		specCat(specName("g"), []byte{0x03, 0x00}),
	}
	var start []byte
	if metered {
		init := specCat([]byte{0x42}, specSLEB(specHugeFuel), []byte{0x0b})
		if fuelType == specI32 {
			init = []byte{0x41, 0x00, 0x0b}
		}
		globals = append(globals, specCat([]byte{fuelType, 0x01}, init))
		exports = append(exports, specCat(specName(fuel.GlobalExport), []byte{0x03, 0x01}))
	}
	if !metered || keepStart {
		start = specSection(8, specULEB(2))
	}
	return specBinary(
		specSection(1, specVec(specFuncType(nil, []byte{specI32}), specFuncType(nil, nil))),
		specSection(3, specVec([]byte{0}, []byte{1}, []byte{1}, []byte{0})),
		specSection(6, specVec(globals...)),
		specSection(7, specVec(exports...)),
		start,
		specSection(10, specVec(
			fn(0x41, 0x2a, 0x0b),             // i32.const 42
			fn(0x00, 0x0b),                   // unreachable
			fn(0x41, 0x07, 0x24, 0x00, 0x0b), // i32.const 7; global.set 0
			fn(0x23, 0x00, 0x0b),             // global.get 0
		)),
	)
}

// sanityInvalid is (func (result i32)) with an empty body: a type mismatch.
func sanityInvalid() []byte {
	return specBinary(
		specSection(1, specVec(specFuncType(nil, []byte{specI32}))),
		specSection(3, specVec([]byte{0})),
		specSection(10, specVec(specBody(0x0b))),
	)
}

// sanityImporter imports "M"."answer" and spectest's print_i32, and exports
// "call", which prints answer() `prints` times and returns answer()+1. When
// metered, it also exports a fuel counter (that nothing charges).
func sanityImporter(prints int, metered bool) []byte {
	var code []byte
	for i := 0; i < prints; i++ {
		code = append(code, 0x10, 0x00, 0x10, 0x01) // call answer; call print_i32
	}
	code = append(code, 0x10, 0x00, 0x41, 0x01, 0x6a, 0x0b) // call answer; i32.const 1; i32.add
	var globals []byte
	exports := [][]byte{specCat(specName("call"), []byte{0x00, 0x02})}
	if metered {
		globals = specSection(6, specVec([]byte{specI64, 0x01, 0x42, 0x00, 0x0b}))
		exports = append(exports, specCat(specName(fuel.GlobalExport), []byte{0x03, 0x00}))
	}
	return specBinary(
		specSection(1, specVec(specFuncType(nil, []byte{specI32}), specFuncType([]byte{specI32}, nil))),
		specSection(2, specVec(
			specCat(specName("M"), specName("answer"), []byte{0x00, 0x00}),
			specCat(specName("spectest"), specName("print_i32"), []byte{0x00, 0x01}),
		)),
		specSection(3, specVec([]byte{0})),
		globals,
		specSection(7, specVec(exports...)),
		specSection(10, specVec(specBody(code...))),
	)
}

const sanityScript = `{"source_filename": "sanity.wast",
 "commands": [
  {"type": "module", "line": 1, "filename": "sanity.0.wasm"},
  {"type": "assert_return", "line": 2, "action": {"type": "invoke", "field": "answer", "args": []}, "expected": [{"type": "i32", "value": "%s"}]},
  {"type": "assert_return", "line": 3, "action": {"type": "invoke", "field": "get_g", "args": []}, "expected": [{"type": "i32", "value": "7"}]},
  {"type": "assert_return", "line": 4, "action": {"type": "get", "field": "g"}, "expected": [{"type": "i32", "value": "7"}]},
  {"type": "assert_trap", "line": 5, "action": {"type": "invoke", "field": "boom", "args": []}, "text": "unreachable", "expected": []},
  {"type": "assert_invalid", "line": 6, "filename": "sanity.1.wasm", "text": "type mismatch", "module_type": "binary"},
  {"type": "assert_malformed", "line": 7, "filename": "sanity.2.wat", "text": "unexpected token", "module_type": "text"},
  {"type": "register", "line": 8, "as": "M"},
  {"type": "module", "line": 9, "name": "$N", "filename": "sanity.3.wasm"},
  {"type": "assert_return", "line": 10, "action": {"type": "invoke", "module": "$N", "field": "call", "args": []}, "expected": [{"type": "i32", "value": "43"}]}%s
 ]}`

func sanityFS(answer, extra string) fstest.MapFS {
	return fstest.MapFS{
		"sanity.json":   {Data: []byte(fmt.Sprintf(sanityScript, answer, extra))},
		"sanity.0.wasm": {Data: sanityModule(false, 0, 0, false)},
		"sanity.1.wasm": {Data: sanityInvalid()},
		"sanity.2.wat":  {Data: []byte("(module")},
		"sanity.3.wasm": {Data: sanityImporter(1, false)},
	}
}

// fakeInstrumenter maps the sanity module to its metered form (via meter),
// the importer through importer, and everything else through other.
func fakeInstrumenter(meter func() []byte, importer func([]byte) []byte, other func([]byte) ([]byte, error)) specInstrumentFunc {
	plain, imp := sanityModule(false, 0, 0, false), sanityImporter(1, false)
	return func(wasm []byte) ([]byte, error) {
		switch {
		case bytes.Equal(wasm, plain):
			return meter(), nil
		case bytes.Equal(wasm, imp) && importer != nil:
			return importer(wasm), nil
		}
		if other != nil {
			return other(wasm)
		}
		return append([]byte(nil), wasm...), nil
	}
}

func TestSpecHarnessSanity(t *testing.T) {
	good := func() []byte { return sanityModule(true, 3, specI64, true) }
	// patch replaces old, which must occur exactly once, in the metered module.
	patch := func(old, new []byte) specInstrumentFunc {
		m := good()
		if n := bytes.Count(m, old); n != 1 {
			t.Fatalf("pattern % x occurs %d times", old, n)
		}
		return fakeInstrumenter(func() []byte { return bytes.Replace(m, old, new, 1) }, nil, nil)
	}
	withCustomSection := func() []byte {
		return append(sanityModule(false, 0, 0, false), specSection(0, specCat(specName("x"), []byte{1}))...)
	}
	cases := []struct {
		name       string
		answer     string // expected result of "answer" in the JSON
		extra      string // more commands
		instrument specInstrumentFunc
		wantFail   string // substring of a failure; "" = must pass
	}{
		{name: "identity passes", answer: "42", instrument: specIdentityInstrument},
		{name: "metered fake passes", answer: "42", instrument: fakeInstrumenter(good, nil, nil)},
		{name: "wrong JSON expectation fails on the raw side", answer: "41", instrument: specIdentityInstrument,
			wantFail: `invoke "answer"[]: raw: result 0: got i32:42, want i32:41`},
		{name: "replaced result", answer: "42", instrument: patch([]byte{0x41, 0x2a, 0x0b}, []byte{0x41, 0x2b, 0x0b}),
			wantFail: `invoke "answer"[]: instrumented: result 0: got i32:43, want i32:42`},
		{name: "trap removed", answer: "42", instrument: patch([]byte{0x0b, 0x00, 0x0b}, []byte{0x0b, 0x01, 0x0b}), // unreachable -> nop
			wantFail: `invoke "boom"[]: instrumented: got <nil>, want trap "unreachable"`},
		{name: "instrumenter errors", answer: "42",
			instrument: func([]byte) ([]byte, error) { return nil, errors.New("nope") },
			wantFail:   "instrumented module failed to instantiate: instrument: nope"},
		{name: "instrumenter repairs an invalid module", answer: "42",
			instrument: func(wasm []byte) ([]byte, error) {
				if bytes.Equal(wasm, sanityInvalid()) {
					return good(), nil
				}
				return wasm, nil
			},
			wantFail: "instrumented module loaded, want failure"},
		{name: "fuel runs out", answer: "42", instrument: fakeInstrumenter(func() []byte { return sanityModule(true, specHugeFuel+1, specI64, false) }, nil, nil),
			wantFail: "fuel exhausted"},
		{name: "start section dropped", answer: "42", instrument: fakeInstrumenter(func() []byte { return sanityModule(true, 3, specI64, false) }, nil, nil),
			wantFail: `invoke "get_g"[]: instrumented: result 0: got i32:0, want i32:7`},
		{name: "fuel global of the wrong type", answer: "42", instrument: fakeInstrumenter(func() []byte { return sanityModule(true, 0, specI32, true) }, nil, nil),
			wantFail: `"kiln.fuel" is not a mutable i64 global`},
		{name: "rewritten without a fuel global", answer: "42", instrument: fakeInstrumenter(withCustomSection, nil, nil),
			wantFail: `does not export the "kiln.fuel" global`},
		{name: "different host calls", answer: "42", instrument: fakeInstrumenter(good, func([]byte) []byte { return sanityImporter(2, true) }, nil),
			wantFail: "host calls differ: raw [print_i32(42)], instrumented [print_i32(42) print_i32(42)]"},
		{name: "unknown command type", answer: "42", extra: `, {"type": "assert_bogus", "line": 11}`, instrument: specIdentityInstrument,
			wantFail: `unknown command type "assert_bogus"`},
		{name: "unknown field", answer: "42", extra: `, {"type": "module", "line": 11, "filename": "sanity.0.wasm", "bogus": 1}`, instrument: specIdentityInstrument,
			wantFail: `unknown field "bogus"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stats, failures := runSpecScript(sanityFS(tc.answer, tc.extra), "sanity.json", api.CoreFeaturesV2, tc.instrument)
			t.Logf("%s", stats)
			if tc.wantFail == "" {
				for _, f := range failures {
					t.Errorf("unexpected failure: %s", f)
				}
				if got := stats.Ran["assert_return(invoke)"] + stats.Ran["assert_return(get)"]; got != 4 {
					t.Errorf("ran %d assert_return, want 4", got)
				}
				if stats.Ran["assert_trap"] != 1 || stats.Ran["assert_invalid"] != 1 || stats.Ran["module"] != 2 || stats.Ran["register"] != 1 {
					t.Errorf("unexpected counts: %s", stats)
				}
				if n := stats.Skipped["assert_malformed: text-format module (.wat) cannot be loaded"]; n != 1 {
					t.Errorf("text module skipped %d times, want 1", n)
				}
				if stats.HostCalls != 1 {
					t.Errorf("host calls %d, want 1", stats.HostCalls)
				}
				return
			}
			for _, f := range failures {
				if strings.Contains(f, tc.wantFail) {
					t.Logf("failed as expected: %s", f)
					return
				}
			}
			t.Errorf("want a failure containing %q, got %d failures:\n%s", tc.wantFail, len(failures), strings.Join(failures, "\n"))
		})
	}

	t.Run("metered fake is metered", func(t *testing.T) {
		stats, failures := runSpecScript(sanityFS("42", ""), "sanity.json", api.CoreFeaturesV2, fakeInstrumenter(good, nil, nil))
		if len(failures) != 0 {
			t.Fatal(failures)
		}
		// answer, get_g, boom and M.answer (twice, via $N) each charge 3, plus
		// the start function at instantiation (not accounted: it is not an invoke).
		// The invokes of $N charge M's counter, not $N's (unmetered).
		if stats.Metered != 1 || stats.Unmetered != 1 || stats.FuelCharged != 9 {
			t.Errorf("metered=%d unmetered=%d fuel=%d, want 1, 1, 9", stats.Metered, stats.Unmetered, stats.FuelCharged)
		}
	})
}
