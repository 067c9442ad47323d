package kiln

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// outScalars has a field of every kind the fast encoder takes, with each
// tag form it takes.
type outScalars struct {
	S    string   `json:"s"`
	SE   string   `json:"se,omitempty"`
	B    bool     `json:"b"`
	BE   bool     `json:"be,omitempty"`
	I    int      `json:"i"`
	I8   int8     `json:"i8,omitempty"`
	I16  int16    `json:"i16"`
	I32  int32    `json:"i32"`
	I64  int64    `json:"i64,omitzero"`
	U    uint     `json:"u"`
	U8   uint8    `json:"u8"`
	U16  uint16   `json:"u16"`
	U32  uint32   `json:"u32,omitempty"`
	U64  uint64   `json:"u64"`
	F32  float32  `json:"f32"`
	F32E float32  `json:"f32e,omitempty"`
	F    float64  `json:"f"`
	FE   float64  `json:"fe,omitempty,omitzero"`
	FZ   float64  `json:"fz,omitzero"`
	P    *string  `json:"p"`
	PE   *string  `json:"pe,omitempty"`
	PF   *float64 `json:"pf"`
	PB   *bool    `json:"pb,omitzero"`
	Raw  string   // named by its field name
	Mix  string   `json:"mix-ed.Name_1"`
	Dash string   `json:"-,"` // named "-"
	Opt  int      `json:",omitempty"`
	Skip string   `json:"-"`
	Lvl  level    `json:"lvl"` // a named type without methods
	_    int
	hid  string //nolint:unused // unexported: ignored by both encoders
}

type level string

var (
	trickyStrings = []string{
		"", "hello", "quote \" backslash \\ slash /", "nl \n cr \r tab \t bs \b ff \f nul \x00 esc \x1b del \x7f",
		"<a href=\"x\">&amp;</a>", "line \u2028 para \u2029", "é 😀 \ufffd", "invalid \xff\xfe \xc3 end", "\xed\xa0\x80 surrogate",
		"long enough for the word scan (swar.go) and then <html> & \u2028 \xff",
		strings.Repeat("abcdefgh", 20) + "\"",
	}
	trickyFloats = []float64{
		0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, 123456789, 1e20, 1e21, -1e21, 999999999999999999999, 1e-6, 9.999999e-7,
		1e-7, -1e-7, 1.5e-9, 1e100, 1e-100, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.MaxFloat32, math.SmallestNonzeroFloat32, float64(float32(1e21)), float64(float32(1e-6)), 3.4e38, 1 / 3.0,
	}
)

// encodeValues are values of outScalars with every tricky string, float
// and integer bound in some field.
func encodeValues() []outScalars {
	var vs []outScalars
	vs = append(vs, outScalars{})
	for i, s := range trickyStrings {
		p := s
		vs = append(vs, outScalars{S: s, SE: s, P: &p, PE: &p, Raw: s, Mix: s, Dash: s, Skip: s, Lvl: level(s), BE: i%2 == 0, PB: new(bool)})
	}
	for _, f := range trickyFloats {
		pf, f32 := f, float32(f)
		if math.IsInf(float64(f32), 0) { // json.Marshal refuses it
			f32 = math.MaxFloat32
		}
		vs = append(vs, outScalars{F: f, FE: f, FZ: f, F32: f32, F32E: -f32, PF: &pf})
	}
	vs = append(vs,
		outScalars{I: math.MinInt, I8: math.MinInt8, I16: math.MinInt16, I32: math.MinInt32, I64: math.MinInt64, Opt: -1},
		outScalars{I: math.MaxInt, I8: math.MaxInt8, I16: math.MaxInt16, I32: math.MaxInt32, I64: math.MaxInt64, Opt: 1,
			U: math.MaxUint, U8: math.MaxUint8, U16: math.MaxUint16, U32: math.MaxUint32, U64: math.MaxUint64, B: true, BE: true})
	return vs
}

// TestFastEncodeMatchesEncodingJSON: the fast encoder writes exactly what
// json.Marshal writes, for tricky strings, floats and integer bounds.
func TestFastEncodeMatchesEncodingJSON(t *testing.T) {
	e := newFastEncoder(reflect.TypeFor[outScalars]())
	if e == nil {
		t.Fatal("no fast encoder for a struct of scalars")
	}
	for _, v := range encodeValues() {
		if !checkFastEncode(t, e, v) {
			t.Fatalf("the fast encoder declined %+v", v)
		}
		checkResultDocument(t, e, v)
	}
	type empty struct{ hidden int }
	checkFastEncode(t, newFastEncoder(reflect.TypeFor[empty]()), empty{1})
	type omitted struct {
		A string `json:"a,omitempty"`
	}
	checkFastEncode(t, newFastEncoder(reflect.TypeFor[omitted]()), omitted{})
}

// checkFastEncode compares the fast encoder's output for v with
// json.Marshal's, and reports whether the fast encoder took v; when it
// declines, json.Marshal must refuse v.
func checkFastEncode[T any](t *testing.T, e *fastEncoder, v T) bool {
	t.Helper()
	want, err := json.Marshal(v)
	got, ok := e.encode(reflect.ValueOf(v))
	switch {
	case !ok && err == nil:
		t.Fatalf("%+v: the fast encoder declined what json.Marshal writes as %s", v, want)
	case ok && err != nil:
		t.Fatalf("%+v: the fast encoder wrote %s where json.Marshal fails: %v", v, got, err)
	case ok && !bytes.Equal(got, want):
		t.Fatalf("%+v:\nfast         %s\njson.Marshal %s", v, got, want)
	}
	return ok
}

// TestFastEncodeDeclinesWhatJSONRefuses: NaN and infinities, which
// json.Marshal refuses, are declined, and the tool's result is
// json.Marshal's error.
func TestFastEncodeDeclinesWhatJSONRefuses(t *testing.T) {
	e := newFastEncoder(reflect.TypeFor[outScalars]())
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		pf := f
		for _, v := range []outScalars{{F: f}, {FE: f}, {F32: float32(f)}, {PF: &pf}} {
			if checkFastEncode(t, e, v) {
				t.Fatalf("%+v was encoded", v)
			}
		}
	}
	tool := NewTool("nan", "", func(context.Context, struct{}) (outScalars, error) { return outScalars{F: math.NaN()}, nil })
	r := callTool(t, Module{Tools: []Tool{tool}}, "nan", `{}`)
	if !r.IsError || r.StructuredContent != nil || r.Content[0].Text != "encoding result: json: unsupported value: NaN" {
		t.Fatalf("result %+v", r)
	}
}

// FuzzFastEncode: the same for any field values.
func FuzzFastEncode(f *testing.F) {
	for i, s := range trickyStrings {
		fl := trickyFloats[i%len(trickyFloats)]
		f.Add(s, i%2 == 0, int64(i)-5, uint64(i), fl, float32(fl), s)
	}
	f.Add("", false, int64(math.MinInt64), uint64(math.MaxUint64), math.Copysign(0, -1), float32(math.Copysign(0, -1)), "x")
	e := newFastEncoder(reflect.TypeFor[outScalars]())
	f.Fuzz(func(t *testing.T, s string, b bool, i int64, u uint64, fl float64, f32 float32, p string) {
		v := outScalars{
			S: s, SE: p, B: b, BE: !b, I: int(i), I8: int8(i), I16: int16(i), I32: int32(i), I64: i,
			U: uint(u), U8: uint8(u), U16: uint16(u), U32: uint32(u), U64: u,
			F32: f32, F32E: f32, F: fl, FE: fl, FZ: -fl, Raw: p, Mix: s + p, Dash: p + s, Lvl: level(p),
		}
		if b {
			v.P, v.PF, v.PB = &p, &fl, &b
		} else {
			v.PE = &s
		}
		if checkFastEncode(t, e, v) {
			checkResultDocument(t, e, v)
		}
	})
}

// checkResultDocument: the result document of a tool returning v is what
// json.Marshal writes for a Result with v's JSON as structured content
// and as text (which appendQuotedJSON writes).
func checkResultDocument(t *testing.T, e *fastEncoder, v outScalars) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(Result{Content: []Content{{Type: "text", Text: string(data)}}, StructuredContent: data})
	if err != nil {
		t.Fatal(err)
	}
	r := toResult(v, true, e)
	if got, err := r.appendJSON(nil); err != nil || !bytes.Equal(got, want) || r.structuredBy != byFastEncoder {
		t.Fatalf("%+v:\n got %s %v (%v)\nwant %s", v, got, err, r.structuredBy, want)
	}
}

type marshalsJSON struct{ A string }

func (marshalsJSON) MarshalJSON() ([]byte, error) { return []byte(` { "a" : "<b> & \u2028" } `), nil }

type marshalsJSONPtr struct{ A string }

func (*marshalsJSONPtr) MarshalJSON() ([]byte, error) { return []byte(`"mine"`), nil }

type marshalsText string

func (marshalsText) MarshalText() ([]byte, error) { return []byte("text <mine>"), nil }

type marshalsTextPtr int

func (*marshalsTextPtr) MarshalText() ([]byte, error) { return []byte("mine"), nil }

type zeroer int

func (zeroer) IsZero() bool { return true }

type namedPointer *string

// declinedShapes are output types the fast encoder does not take, each
// with a value.
var declinedShapes = []outCase{
	outCaseOf(marshalsJSON{A: "x"}),
	outCaseOf(marshalsJSONPtr{A: "x"}),
	outCaseOf(struct{ T time.Time }{time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}),
	outCaseOf(struct{ M marshalsText }{"x"}),
	outCaseOf(struct{ M *marshalsText }{new(marshalsText)}),
	outCaseOf(struct{ M marshalsTextPtr }{1}),
	outCaseOf(struct{ M marshalsJSON }{}),
	outCaseOf(struct{ M *marshalsJSONPtr }{&marshalsJSONPtr{}}),
	outCaseOf(struct{ N struct{ A string } }{}),
	outCaseOf(struct{ greetOut }{greetOut{"embedded"}}),
	outCaseOf(struct{ *greetOut }{&greetOut{"embedded pointer"}}),
	outCaseOf(struct{ L []string }{[]string{"a", "<b>"}}),
	outCaseOf(struct{ B []byte }{[]byte("bytes")}),
	outCaseOf(struct{ A [2]int }{[2]int{1, 2}}),
	outCaseOf(struct{ M map[string]int }{map[string]int{"b": 2, "a": 1}}),
	outCaseOf(struct{ A any }{"<any>"}),
	outCaseOf(struct{ R json.RawMessage }{json.RawMessage(` [ 1 , "<x>" ] `)}),
	outCaseOf(struct{ N json.Number }{"12.5"}),
	outCaseOf(struct{ N *json.Number }{new(json.Number)}),
	outCaseOf(struct{ P **string }{new(*string)}),
	outCaseOf(struct{ P namedPointer }{nil}),
	outCaseOf(struct{ U uintptr }{7}),
	outCaseOf(struct{ C complex128 }{}),
	outCaseOf(struct {
		N int `json:"n,string"`
	}{5}),
	outCaseOf(struct {
		S string `json:"s,omitempty,string"`
	}{"x"}),
	outCaseOf(struct {
		Z zeroer `json:"z,omitzero"`
	}{3}),
	outCaseOf(struct {
		Z *zeroer `json:"z,omitzero"`
	}{new(zeroer)}),
	outCaseOf(struct {
		A string `json:"a b"`
	}{"space in the name"}),
	outCaseOf(struct {
		A string `json:"a<b"`
	}{"html in the name"}),
	outCaseOf(struct {
		Ñame string
	}{"a letter json takes, which the encoder declines"}),
	outCaseOf(struct{ A appender }{"appends itself under jsonv2"}),
	outCaseOf(struct{ M marshalsTo }{"encodes itself under jsonv2"}),
}

// appender and marshalsTo encode themselves when json.Marshal is
// encoding/json/v2's (GOEXPERIMENT=jsonv2), so the encoder declines them.
type (
	appender   string
	marshalsTo string
)

func (a appender) AppendText(b []byte) ([]byte, error) { return append(b, "appended"...), nil }

func (m *marshalsTo) MarshalJSONTo(any) error { return nil }

// outCase is an output type with a value, and the check of a tool that
// returns that value (checkToolResult).
type outCase struct {
	typ   reflect.Type
	check func(*testing.T)
}

func outCaseOf[Out any](v Out) outCase {
	return outCase{reflect.TypeFor[Out](), func(t *testing.T) { t.Helper(); checkToolResult(t, v) }}
}

// TestFastEncoderDeclinesOtherShapes: types whose encoding the fast
// encoder does not reproduce get none, and a tool returning them gets
// json.Marshal's document, through the fallback, in its result.
func TestFastEncoderDeclinesOtherShapes(t *testing.T) {
	for _, c := range declinedShapes {
		if newFastEncoder(c.typ) != nil {
			t.Errorf("%v got a fast encoder", c.typ)
		}
		c.check(t)
	}
	for _, typ := range []reflect.Type{
		reflect.StructOf([]reflect.StructField{ // two fields named x (a literal would upset vet): json.Marshal drops both
			{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
			{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
		}),
		reflect.TypeFor[string](), reflect.TypeFor[*greetOut](), reflect.TypeFor[map[string]string](),
	} {
		if newFastEncoder(typ) != nil {
			t.Errorf("%v got a fast encoder", typ)
		}
	}
}

// TestToolResultsMatchEncodingJSON: a tool's result document, whichever
// encoder wrote its structured content, is what json.Marshal writes for
// a Result with json.Marshal's encoding of the value as structured
// content and as text.
func TestToolResultsMatchEncodingJSON(t *testing.T) {
	for _, v := range encodeValues() {
		checkToolResult(t, v)
	}
	checkToolResult(t, map[string]any{"b": "<x>", "a": 1.5})
	checkToolResult(t, map[string]any(nil))
	checkToolResult(t, greetOut{"hello"})
}

// checkToolResult calls a tool that returns v and compares its result
// document with json.Marshal's: a text item and structured content
// holding json.Marshal(v), or its error.
func checkToolResult[Out any](t *testing.T, v Out) {
	t.Helper()
	var want []byte
	data, err := json.Marshal(v)
	switch {
	case err != nil:
		want, err = json.Marshal(ErrorResult(fmt.Errorf("encoding result: %w", err)))
	case string(data) == "null":
		want, err = json.Marshal(TextResult("null"))
	default:
		want, err = json.Marshal(Result{Content: []Content{{Type: "text", Text: string(data)}}, StructuredContent: data})
	}
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	tool := NewTool("out", "", func(context.Context, struct{}) (Out, error) { return v, nil })
	if status := serve(Module{Tools: []Tool{tool}}, []string{"out"}, strings.NewReader(`{}`), &rec); status != 0 || len(rec.results) != 1 {
		t.Fatalf("status %d, %d results", status, len(rec.results))
	}
	if got := rec.results[0]; !bytes.Equal(got, want) {
		t.Fatalf("%T:\n got %s\nwant %s", v, got, want)
	}
}
