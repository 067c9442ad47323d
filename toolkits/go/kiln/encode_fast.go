package kiln

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// fastEncoder writes a tool's struct result when every field is a string,
// boolean, integer or float (or a pointer to one), the common shape,
// without encoding/json, whose reflection-driven encoding (and then the
// check and compaction of what it wrote, result_json.go) was three
// quarters of a trivial reactor call with a struct result. It writes
// byte for byte what json.Marshal writes: the fields in order under their
// JSON names, omitempty and omitzero, strings escaped as encoding/json
// escapes them (appendJSONString), floats formatted as its floatEncoder
// formats them. Types whose encoding it does not reproduce get no
// encoder, and a value json.Marshal refuses (a NaN or infinite float) is
// declined: the caller then calls json.Marshal, which also gives the
// error.
type fastEncoder struct {
	fields []encodeField
	// size is the length of the braces, keys and commas, to which encode
	// adds the values' for its buffer's capacity.
	size int
}

type encodeField struct {
	key   string // `"name":`
	index int
	kind  reflect.Kind
	ptr   bool // the field is a pointer to a value of kind
	// omit: the field is tagged omitempty or omitzero, which for these
	// kinds (without an IsZero method) both omit the zero value and nil.
	omit bool
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	textAppender  = reflect.TypeFor[encoding.TextAppender]()
	isZeroer      = reflect.TypeFor[interface{ IsZero() bool }]()
)

// newFastEncoder returns t's encoder, or nil when t is not of the common
// shape (scalarFields), encodes itself, or has omitzero on a field whose
// type has an IsZero method.
func newFastEncoder(t reflect.Type) *fastEncoder {
	fields, ok := scalarFields(t, encodesItself)
	if !ok {
		return nil
	}
	e := &fastEncoder{size: 2}
	for _, f := range fields {
		omitZero := hasOption(f.opts, "omitzero")
		if omitZero && hasIsZero(f.elem) {
			return nil
		}
		key := `"` + f.name + `":`
		e.size += len(key) + 1
		e.fields = append(e.fields, encodeField{key: key, index: f.index, kind: f.kind, ptr: f.ptr,
			omit: omitZero || hasOption(f.opts, "omitempty")})
	}
	return e
}

// encodesItself: json.Marshal would call t's own method; with
// GOEXPERIMENT=jsonv2 also MarshalJSONTo and AppendText, which it calls
// there.
func encodesItself(t reflect.Type) bool {
	for _, t := range []reflect.Type{t, reflect.PointerTo(t)} {
		_, to := t.MethodByName("MarshalJSONTo")
		if to || t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || t.Implements(textAppender) {
			return true
		}
	}
	return false
}

// hasIsZero: omitzero would call t's IsZero (or *t's).
func hasIsZero(t reflect.Type) bool {
	return t.Implements(isZeroer) || reflect.PointerTo(t).Implements(isZeroer)
}

// hasOption reports whether a tag's comma-separated options hold opt.
func hasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

// encode returns v's JSON (v is a struct of the encoder's type), or false
// when v holds a value json.Marshal refuses.
func (e *fastEncoder) encode(v reflect.Value) ([]byte, bool) {
	b := make([]byte, 0, e.sizeOf(v))
	next := byte('{')
	for _, f := range e.fields {
		fv := v.Field(f.index)
		null := f.ptr && fv.IsNil()
		// omitempty leaves out a nil pointer, never a pointer to zero.
		if f.omit && (null || !f.ptr && empty(fv, f.kind)) {
			continue
		}
		b = append(b, next)
		b = append(b, f.key...)
		next = ','
		if null {
			b = append(b, "null"...)
			continue
		}
		if f.ptr {
			fv = fv.Elem()
		}
		var ok bool
		if b, ok = appendScalar(b, fv, f.kind); !ok {
			return nil, false
		}
	}
	if next == '{' {
		return append(b, '{', '}'), true
	}
	return append(b, '}'), true
}

// sizeOf is about the length of v's JSON, escapes aside, so that encode
// allocates once.
func (e *fastEncoder) sizeOf(v reflect.Value) int {
	n := e.size
	for _, f := range e.fields {
		n += 24 // the longest number; true, false, null; a string's quotes
		if f.kind == reflect.String {
			fv := v.Field(f.index)
			if f.ptr {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			n += fv.Len()
		}
	}
	return n
}

// empty: omitempty (and omitzero, for a type without an IsZero method)
// leaves the field out.
func empty(v reflect.Value, kind reflect.Kind) bool {
	switch kind {
	case reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0 // -0 too, as reflect.Value.IsZero says
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	default:
		return v.Int() == 0
	}
}

// appendScalar appends v's JSON value, or reports false for a NaN or
// infinite float.
func appendScalar(b []byte, v reflect.Value, kind reflect.Kind) ([]byte, bool) {
	switch kind {
	case reflect.String:
		return appendJSONString(b, v.String()), true
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), true
	case reflect.Float32:
		return appendJSONFloat(b, v.Float(), 32)
	case reflect.Float64:
		return appendJSONFloat(b, v.Float(), 64)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10), true
	default:
		return strconv.AppendInt(b, v.Int(), 10), true
	}
}

// appendJSONFloat formats f as encoding/json's floatEncoder does: like
// ES6's number to string conversion, the shortest form that reads back
// as f, with an exponent below 1e-6 and from 1e21 on (compared in the
// field's own precision), and no leading zero in a negative exponent.
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' { // e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
