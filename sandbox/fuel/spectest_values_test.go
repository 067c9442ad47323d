package fuel_test

// Value handling for the spec-suite harness (spectest_harness_test.go):
// parsing wast2json values into wazero's uint64 encoding, checking results
// against the expectations of the JSON file, and comparing the raw world's
// results with the instrumented world's.

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// specValue is a typed value of a wast2json file: an argument, or an expected
// result. Value is a string ("123", "null", "nan:canonical", ...), a list of
// lane strings for v128, or absent (only the type is known, e.g. in the
// "expected" list of assert_trap, or "any non-null reference").
type specValue struct {
	Type     string          `json:"type"`
	LaneType string          `json:"lane_type"`
	Value    json.RawMessage `json:"value"`
}

func (v specValue) hasValue() bool { return len(v.Value) > 0 && string(v.Value) != "null" }

func (v specValue) scalar() (string, error) {
	var s string
	if err := json.Unmarshal(v.Value, &s); err != nil {
		return "", fmt.Errorf("%s value %s: %v", v.Type, v.Value, err)
	}
	return s, nil
}

func (v specValue) lanes() ([]string, error) {
	var s []string
	if err := json.Unmarshal(v.Value, &s); err != nil {
		return nil, fmt.Errorf("v128 value %s: %v", v.Value, err)
	}
	return s, nil
}

func (v specValue) String() string {
	if !v.hasValue() {
		return v.Type + ":*"
	}
	if v.Type == "v128" {
		return fmt.Sprintf("v128(%s)%s", v.LaneType, v.Value)
	}
	s, _ := v.scalar()
	return v.Type + ":" + s
}

// specWordsOf is the number of uint64 words a value of this type takes in
// wazero's api.Function.Call encoding.
func specWordsOf(typ string) int {
	if typ == "v128" {
		return 2
	}
	return 1
}

// specLaneShape returns the lane width in bits and the lane count of a v128 lane type.
func specLaneShape(laneType string) (width, count int, err error) {
	switch laneType {
	case "i8":
		return 8, 16, nil
	case "i16":
		return 16, 8, nil
	case "i32", "f32":
		return 32, 4, nil
	case "i64", "f64":
		return 64, 2, nil
	}
	return 0, 0, fmt.Errorf("unknown v128 lane type %q", laneType)
}

// specParseBits parses a decimal integer (wast2json writes unsigned, other tools
// sometimes signed) into its two's complement bits of the given width.
func specParseBits(s string, width int) (uint64, error) {
	if strings.HasPrefix(s, "-") {
		v, err := strconv.ParseInt(s, 10, width)
		if err != nil {
			return 0, err
		}
		if width == 64 {
			return uint64(v), nil
		}
		return uint64(v) & (1<<width - 1), nil
	}
	return strconv.ParseUint(s, 10, width)
}

// specLaneAt extracts lane i of the given width from a v128 given as (lo, hi).
func specLaneAt(lo, hi uint64, width, i int) uint64 {
	perWord := 64 / width
	w := lo
	if i >= perWord {
		w, i = hi, i-perWord
	}
	if width == 64 {
		return w
	}
	return (w >> (i * width)) & (1<<width - 1)
}

// specEncodeArg converts an argument into wazero's uint64 encoding.
func specEncodeArg(v specValue) ([]uint64, error) {
	switch v.Type {
	case "i32", "f32", "i64", "f64":
		s, err := v.scalar()
		if err != nil {
			return nil, err
		}
		width := 32
		if v.Type == "i64" || v.Type == "f64" {
			width = 64
		}
		b, err := specParseBits(s, width)
		if err != nil {
			return nil, fmt.Errorf("%s argument %q: %v", v.Type, s, err)
		}
		return []uint64{b}, nil
	case "externref", "funcref":
		if !v.hasValue() {
			return nil, fmt.Errorf("%s argument without a value", v.Type)
		}
		s, err := v.scalar()
		if err != nil {
			return nil, err
		}
		if s == "null" {
			return []uint64{0}, nil
		}
		if v.Type == "funcref" {
			return nil, fmt.Errorf("non-null funcref argument %q cannot be expressed", s)
		}
		// wazero represents externref as an opaque uintptr where 0 is null,
		// so the spec's (ref.extern N) is passed as N+1.
		n, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			return nil, fmt.Errorf("externref argument %q: %v", s, err)
		}
		return []uint64{n + 1}, nil
	case "v128":
		lanes, err := v.lanes()
		if err != nil {
			return nil, err
		}
		width, count, err := specLaneShape(v.LaneType)
		if err != nil {
			return nil, err
		}
		if len(lanes) != count {
			return nil, fmt.Errorf("v128 %s argument has %d lanes", v.LaneType, len(lanes))
		}
		var words [2]uint64
		perWord := 64 / width
		for i, s := range lanes {
			b, err := specParseBits(s, width)
			if err != nil {
				return nil, fmt.Errorf("v128 %s lane %d %q: %v", v.LaneType, i, s, err)
			}
			words[i/perWord] |= b << ((i % perWord) * width)
		}
		return words[:], nil
	}
	return nil, fmt.Errorf("unsupported argument type %q", v.Type)
}

func specEncodeArgs(vs []specValue) ([]uint64, error) {
	var out []uint64
	for _, v := range vs {
		w, err := specEncodeArg(v)
		if err != nil {
			return nil, err
		}
		out = append(out, w...)
	}
	return out, nil
}

const (
	specF32SignMask  = 0x8000_0000
	specF32ExpMask   = 0x7f80_0000
	specF32QuietBit  = 0x0040_0000
	specF32Canonical = 0x7fc0_0000
	specF64SignMask  = 0x8000_0000_0000_0000
	specF64ExpMask   = 0x7ff0_0000_0000_0000
	specF64QuietBit  = 0x0008_0000_0000_0000
	specF64Canonical = 0x7ff8_0000_0000_0000
)

// specMatchFloat checks float bits against an expected f32/f64 string: a bit
// pattern (compared exactly, so -0 != +0 and NaN payloads matter, as in the
// reference interpreter), "nan:canonical" (either sign, canonical payload) or
// "nan:arithmetic" (either sign, quiet bit set).
func specMatchFloat(exp string, bits uint64, width int) (bool, error) {
	sign, expMask, quiet, canonical := uint64(specF64SignMask), uint64(specF64ExpMask), uint64(specF64QuietBit), uint64(specF64Canonical)
	if width == 32 {
		sign, expMask, quiet, canonical = specF32SignMask, specF32ExpMask, specF32QuietBit, specF32Canonical
		bits &= 0xffff_ffff
	}
	switch exp {
	case "nan:canonical":
		return bits&^sign == canonical, nil
	case "nan:arithmetic":
		return bits&expMask == expMask && bits&quiet != 0, nil
	}
	want, err := specParseBits(exp, width)
	if err != nil {
		return false, fmt.Errorf("f%d expectation %q: %v", width, exp, err)
	}
	return bits == want, nil
}

// specCheckExpected checks results (wazero encoding) against the expectations.
func specCheckExpected(exps []specValue, results []uint64) error {
	n := 0
	for _, e := range exps {
		n += specWordsOf(e.Type)
	}
	if n != len(results) {
		return fmt.Errorf("got %d result words %v, want %d for %v", len(results), results, n, exps)
	}
	pos := 0
	for i, e := range exps {
		w := results[pos : pos+specWordsOf(e.Type)]
		pos += len(w)
		ok, err := specMatchValue(e, w)
		if err != nil {
			return fmt.Errorf("result %d: %v", i, err)
		}
		if !ok {
			return fmt.Errorf("result %d: got %s, want %s", i, specFormatWords(e, w), e)
		}
	}
	return nil
}

func specMatchValue(e specValue, w []uint64) (bool, error) {
	switch e.Type {
	case "i32":
		s, err := e.scalar()
		if err != nil {
			return false, err
		}
		b, err := specParseBits(s, 32)
		if err != nil {
			return false, err
		}
		return uint32(w[0]) == uint32(b), nil
	case "i64":
		s, err := e.scalar()
		if err != nil {
			return false, err
		}
		b, err := specParseBits(s, 64)
		if err != nil {
			return false, err
		}
		return w[0] == b, nil
	case "f32", "f64":
		s, err := e.scalar()
		if err != nil {
			return false, err
		}
		width := 32
		if e.Type == "f64" {
			width = 64
		}
		return specMatchFloat(s, w[0], width)
	case "externref", "funcref":
		if !e.hasValue() { // (ref.extern) / (ref.func): any non-null reference
			return w[0] != 0, nil
		}
		s, err := e.scalar()
		if err != nil {
			return false, err
		}
		if s == "null" {
			return w[0] == 0, nil
		}
		if e.Type == "funcref" {
			return false, fmt.Errorf("expected funcref %q cannot be checked", s)
		}
		n, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			return false, err
		}
		return w[0] == n+1, nil
	case "v128":
		lanes, err := e.lanes()
		if err != nil {
			return false, err
		}
		width, count, err := specLaneShape(e.LaneType)
		if err != nil {
			return false, err
		}
		if len(lanes) != count {
			return false, fmt.Errorf("v128 %s expectation has %d lanes", e.LaneType, len(lanes))
		}
		for i, s := range lanes {
			got := specLaneAt(w[0], w[1], width, i)
			var ok bool
			if e.LaneType[0] == 'f' {
				ok, err = specMatchFloat(s, got, width)
			} else {
				var want uint64
				want, err = specParseBits(s, width)
				ok = got == want
			}
			if err != nil {
				return false, fmt.Errorf("lane %d: %v", i, err)
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("unsupported result type %q", e.Type)
}

// specSameResults compares the raw world's results with the instrumented world's.
// Bits must be identical, with two exceptions that the Wasm semantics leave
// open: funcrefs are opaque per-runtime pointers (only null-ness is
// compared), and NaNs may differ in payload/sign (the JSON expectation still
// constrains both sides separately).
func specSameResults(types []specValue, raw, inst []uint64) error {
	if len(raw) != len(inst) {
		return fmt.Errorf("raw returned %d words %v, instrumented %d words %v", len(raw), raw, len(inst), inst)
	}
	pos := 0
	for i, t := range types {
		n := specWordsOf(t.Type)
		if pos+n > len(raw) {
			return fmt.Errorf("result %d: missing words", i)
		}
		a, b := raw[pos:pos+n], inst[pos:pos+n]
		pos += n
		same := true
		switch t.Type {
		case "funcref":
			same = (a[0] == 0) == (b[0] == 0)
		case "f32":
			same = uint32(a[0]) == uint32(b[0]) || (specIsNaN(a[0], 32) && specIsNaN(b[0], 32))
		case "f64":
			same = a[0] == b[0] || (specIsNaN(a[0], 64) && specIsNaN(b[0], 64))
		case "v128":
			if strings.HasPrefix(t.LaneType, "f") {
				width, count, _ := specLaneShape(t.LaneType)
				for l := 0; l < count; l++ {
					x, y := specLaneAt(a[0], a[1], width, l), specLaneAt(b[0], b[1], width, l)
					same = same && (x == y || (specIsNaN(x, width) && specIsNaN(y, width)))
				}
			} else {
				same = a[0] == b[0] && a[1] == b[1]
			}
		default:
			for k := range a {
				same = same && a[k] == b[k]
			}
		}
		if !same {
			return fmt.Errorf("result %d: raw %s, instrumented %s", i, specFormatWords(t, a), specFormatWords(t, b))
		}
	}
	if pos != len(raw) {
		return fmt.Errorf("%d result words for %d results", len(raw), len(types))
	}
	return nil
}

func specIsNaN(bits uint64, width int) bool {
	if width == 32 {
		return math.IsNaN(float64(math.Float32frombits(uint32(bits))))
	}
	return math.IsNaN(math.Float64frombits(bits))
}

func specFormatWords(t specValue, w []uint64) string {
	switch t.Type {
	case "i32":
		return fmt.Sprintf("i32:%d", uint32(w[0]))
	case "i64":
		return fmt.Sprintf("i64:%d", w[0])
	case "f32":
		return fmt.Sprintf("f32:%d(%v)", uint32(w[0]), math.Float32frombits(uint32(w[0])))
	case "f64":
		return fmt.Sprintf("f64:%d(%v)", w[0], math.Float64frombits(w[0]))
	case "v128":
		if len(w) == 2 {
			return fmt.Sprintf("v128:%#016x_%016x", w[1], w[0])
		}
	case "externref", "funcref":
		if w[0] == 0 {
			return t.Type + ":null"
		}
		return fmt.Sprintf("%s:%#x", t.Type, w[0])
	}
	return fmt.Sprintf("%s:%v", t.Type, w)
}
