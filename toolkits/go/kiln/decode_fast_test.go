package kiln

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// scalars has a field of every kind the fast decoder takes.
type scalars struct {
	S   string  `json:"s"`
	B   bool    `json:"b,omitempty"`
	I   int     `json:"i"`
	I8  int8    `json:"i8"`
	U16 uint16  `json:"u16"`
	U   uint    `json:"u"`
	F32 float32 `json:"f32"`
	F   float64 `json:"f"`
	P   *string `json:"p"`
	PI  *int64  `json:"pi"`
	Raw string  // named by its field name
	Mix string  `json:"mix-ed.Name_1"`
	_   int
	hid string //nolint:unused // unexported: ignored by both decoders
}

// decodeDocs take each value kind's accepting and declining side.
var decodeDocs = []string{
	`{}`, ` { } `, `{"s":"hello"}`, "{\"s\":\"h\u00e9llo\"}\n", `{"s":"a","s":"b"}`, `{"s":"a\"b"}`, `{"s":"\u0041"}`,
	`{"s":5}`, `{"s":null}`, `{"s":"x"} x`, `{"s":"x",}`, `{"s" "x"}`, `{"S":"x"}`, `{"Raw":"r","mix-ed.Name_1":"m"}`,
	`{"raw":"r"}`, `{"unknown":1}`, `{"b":true,"b":false}`, `{"b":1}`, `{"b":tru}`,
	`{"i":-12,"i8":127,"u16":65535,"u":0}`, `{"i8":128}`, `{"u16":-1}`, `{"i":1.0}`, `{"i":1e2}`, `{"i":-0}`, `{"i":01}`,
	`{"i":-}`, `{"i":9223372036854775808}`, `{"f":1.5e-3,"f32":3.4e38}`, `{"f32":3.5e38}`, `{"f":-0.0}`, `{"f":.5}`,
	`{"f":1.}`, `{"f":1e}`, `{"f":1E+2}`, `{"p":"x","pi":7}`, `{"p":null}`, `{"pi":"7"}`, `[]`, `null`, ``, `{`,
	"{\"s\":\"\xff\"}", "{\"s\":\"a\tb\"}", `{"hid":"x"}`, `{"_":1}`,
	// Long enough for the word scan (swar.go), with what stops it at
	// various places.
	`{"s":"abcdefghijklmnopqrstuvwxyz0123456789"}`, `{"s":"abcdefghijklmnopq\"rstuvwxyz"}`,
	"{\"s\":\"abcdefghijklmnopqrstu\nvwxyz\"}", "{\"s\":\"abcdefghijklmnopqrst\u00e9uvwxyz\"}",
	"{\"s\":\"abcdefghijklmnopqrst\xffuvwxyz\"}", `{"s":"abcdefghijklmnopqrstuvwxyz", "mix-ed.Name_1":"0123456789abcdefghij"}`,
}

// TestFastDecodeMatchesEncodingJSON: whatever the fast decoder accepts, it
// decodes to exactly what json.Unmarshal does, and json.Unmarshal accepts
// it too; and it accepts the plain documents a call usually brings.
func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	d := newFastDecoder(reflect.TypeFor[scalars]())
	if d == nil {
		t.Fatal("no fast decoder for a struct of scalars")
	}
	accepted := 0
	for _, doc := range decodeDocs {
		if checkFastDecode(t, d, doc) {
			accepted++
		}
	}
	if accepted < 12 {
		t.Fatalf("the fast decoder accepted only %d documents", accepted)
	}
}

func checkFastDecode(t *testing.T, d *fastDecoder, doc string) bool {
	t.Helper()
	var fast, slow scalars
	if !d.decode([]byte(doc), reflect.ValueOf(&fast).Elem()) {
		return false
	}
	if err := json.Unmarshal([]byte(doc), &slow); err != nil {
		t.Fatalf("%s: the fast decoder accepted what json.Unmarshal refuses: %v", doc, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s: fast %+v, json.Unmarshal %+v", doc, fast, slow)
	}
	return true
}

// FuzzFastDecode: the same for any document.
func FuzzFastDecode(f *testing.F) {
	for _, doc := range decodeDocs {
		f.Add(doc)
	}
	d := newFastDecoder(reflect.TypeFor[scalars]())
	f.Fuzz(func(t *testing.T, doc string) { checkFastDecode(t, d, doc) })
}

type selfDecoding string

func (s *selfDecoding) UnmarshalText([]byte) error { *s = "mine"; return nil }

// decodesFrom decodes itself when json.Unmarshal is encoding/json/v2's
// (GOEXPERIMENT=jsonv2).
type decodesFrom string

func (d *decodesFrom) UnmarshalJSONFrom(any) error { return nil }

// TestFastDecoderDeclinesOtherShapes: types whose decoding the fast
// decoder does not reproduce get none.
func TestFastDecoderDeclinesOtherShapes(t *testing.T) {
	type inner struct{ A string }
	for _, typ := range []reflect.Type{
		reflect.TypeFor[struct{ T time.Time }](),
		reflect.TypeFor[struct{ N inner }](),
		reflect.TypeFor[struct{ inner }](),
		reflect.TypeFor[struct{ L []string }](),
		reflect.TypeFor[struct{ M map[string]int }](),
		reflect.TypeFor[struct{ A any }](),
		reflect.TypeFor[struct{ R json.RawMessage }](),
		reflect.TypeFor[struct{ N json.Number }](),
		reflect.TypeFor[struct{ N *json.Number }](),
		reflect.TypeFor[struct{ S selfDecoding }](),
		reflect.TypeFor[struct{ S decodesFrom }](),
		reflect.TypeFor[struct {
			N int `json:"n,string"`
		}](),
		reflect.StructOf([]reflect.StructField{ // two fields named x (a literal would upset vet)
			{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
			{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
		}),
		reflect.TypeFor[struct {
			A string `json:"a b"`
		}](),
		reflect.TypeFor[string](),
	} {
		if newFastDecoder(typ) != nil {
			t.Errorf("%v got a fast decoder", typ)
		}
	}
}
