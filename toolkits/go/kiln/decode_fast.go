package kiln

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// fastDecoder decodes a tool's arguments into its input struct when every
// field is a string, boolean, integer or float (or a pointer to one), the
// common shape, without encoding/json, whose reflection-driven decoding was
// two thirds of a trivial reactor call's instructions. It only decodes what
// it can decode exactly as json.Unmarshal would, and declines the rest: a
// string with an escape, null, a nested value, a key that is not exactly a
// field's name, a number the field's type cannot hold, anything that is not
// valid JSON. The caller then decodes with json.Unmarshal into a fresh
// value, which also gives the error message.
type fastDecoder struct {
	fields []scalarField
}

// scalarField is an exported field of the common shape, as the fast
// decoder and encoder take it: a scalar or an unnamed pointer to one, not
// embedded, under a plain JSON name.
type scalarField struct {
	name  string // the JSON name
	index int
	kind  reflect.Kind
	ptr   bool         // the field is a pointer to a value of kind
	elem  reflect.Type // the scalar's type
	opts  string       // the tag's options, after its name
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	// jsonNumber is a string that json.Unmarshal takes only when it holds
	// a number literal.
	jsonNumber = reflect.TypeFor[json.Number]()
)

// newFastDecoder returns t's decoder, or nil when t is not of the common
// shape (scalarFields) or decodes itself.
func newFastDecoder(t reflect.Type) *fastDecoder {
	fields, ok := scalarFields(t, decodesItself)
	if !ok {
		return nil
	}
	return &fastDecoder{fields: fields}
}

// scalarFields lists the exported fields of the struct t when every one
// has the common shape and neither t nor a field's type handles its own
// JSON (handles: decodesItself or encodesItself), or reports false: an
// embedded field, a `,string` option, a name that repeats or is not
// plain, a type that is not a scalar or an unnamed pointer to one, or
// json.Number.
func scalarFields(t reflect.Type, handles func(reflect.Type) bool) ([]scalarField, bool) {
	if t.Kind() != reflect.Struct || handles(t) {
		return nil, false
	}
	var fields []scalarField
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, false
		}
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		ft, ptr := f.Type, false
		if ft.Kind() == reflect.Pointer && ft.Name() == "" {
			ft, ptr = ft.Elem(), true
		}
		if !plainName(name) || hasOption(opts, "string") || seen[name] || !scalarKind(ft.Kind()) || handles(ft) || ft == jsonNumber {
			return nil, false
		}
		seen[name] = true
		fields = append(fields, scalarField{name: name, index: i, kind: ft.Kind(), ptr: ptr, elem: ft, opts: opts})
	}
	return fields, true
}

// decodesItself: json.Unmarshal would call t's own method; with
// GOEXPERIMENT=jsonv2 also UnmarshalJSONFrom, which it calls there.
func decodesItself(t reflect.Type) bool {
	for _, t := range []reflect.Type{t, reflect.PointerTo(t)} {
		_, from := t.MethodByName("UnmarshalJSONFrom")
		if from || t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) {
			return true
		}
	}
	return false
}

func scalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// plainName: letters, digits, '_', '-' and '.', which encoding/json takes
// as a tag's name as they are.
func plainName(name string) bool {
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return name != ""
}

// decode decodes data into v (an addressable struct of the decoder's type,
// zero), or reports false, having perhaps set some fields, when it
// declines.
func (d *fastDecoder) decode(data []byte, v reflect.Value) bool {
	p := fastParser{data: data}
	p.space()
	if !p.byte('{') {
		return false
	}
	p.space()
	if !p.byte('}') {
		for {
			if !d.member(&p, v) {
				return false
			}
			p.space()
			if p.byte('}') {
				break
			}
			if !p.byte(',') {
				return false
			}
			p.space()
		}
	}
	p.space()
	return p.at == len(p.data)
}

// member decodes one `"name": value` into its field.
func (d *fastDecoder) member(p *fastParser, v reflect.Value) bool {
	key, ok := p.str()
	if !ok {
		return false
	}
	p.space()
	if !p.byte(':') {
		return false
	}
	p.space()
	for _, f := range d.fields {
		if f.name == string(key) {
			return f.set(p, v.Field(f.index))
		}
	}
	return false
}

// set decodes the value at p into field, as json.Unmarshal would.
func (f scalarField) set(p *fastParser, field reflect.Value) bool {
	if f.ptr {
		if field.IsNil() {
			field.Set(reflect.New(field.Type().Elem()))
		}
		field = field.Elem()
	}
	switch f.kind {
	case reflect.String:
		s, ok := p.str()
		if ok {
			field.SetString(string(s))
		}
		return ok
	case reflect.Bool:
		switch {
		case p.literal("true"):
			field.SetBool(true)
		case p.literal("false"):
			field.SetBool(false)
		default:
			return false
		}
		return true
	}
	num, integral := p.number()
	if num == "" {
		return false
	}
	switch f.kind {
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(num, field.Type().Bits())
		if err != nil {
			return false
		}
		field.SetFloat(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(num, 10, field.Type().Bits())
		if !integral || err != nil {
			return false
		}
		field.SetUint(n)
	default:
		n, err := strconv.ParseInt(num, 10, field.Type().Bits())
		if !integral || err != nil {
			return false
		}
		field.SetInt(n)
	}
	return true
}

// fastParser reads the part of JSON the fast decoder takes.
type fastParser struct {
	data []byte
	at   int
}

func (p *fastParser) space() {
	for p.at < len(p.data) {
		switch p.data[p.at] {
		case ' ', '\t', '\n', '\r':
			p.at++
		default:
			return
		}
	}
}

func (p *fastParser) byte(c byte) bool {
	if p.at < len(p.data) && p.data[p.at] == c {
		p.at++
		return true
	}
	return false
}

func (p *fastParser) literal(s string) bool {
	if len(p.data)-p.at >= len(s) && string(p.data[p.at:p.at+len(s)]) == s {
		p.at += len(s)
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8: its bytes are then its value.
func (p *fastParser) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	rest := p.data[p.at:]
	plain := 0
	if len(rest) >= 16 { // a call costs more than a short string's scan
		plain = plainQuotedBytes(rest) // swar.go
	}
	for i, c := range rest[plain:] {
		if c == '"' {
			i += plain
			p.at += i + 1
			return rest[:i], utf8.Valid(rest[:i])
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
	}
	return nil, false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?;
// "" when there is none. integral: it has no fraction or exponent.
func (p *fastParser) number() (num string, integral bool) {
	start := p.at
	p.byte('-')
	if !p.byte('0') && p.digits() == 0 {
		p.at = start
		return "", false
	}
	integral = true
	if p.byte('.') {
		integral = false
		if p.digits() == 0 {
			return "", false
		}
	}
	if p.byte('e') || p.byte('E') {
		integral = false
		if !p.byte('+') {
			p.byte('-')
		}
		if p.digits() == 0 {
			return "", false
		}
	}
	return string(p.data[start:p.at]), integral
}

// digits reads [0-9]* and says how many it read.
func (p *fastParser) digits() int {
	n := 0
	for p.at < len(p.data) && '0' <= p.data[p.at] && p.data[p.at] <= '9' {
		p.at++
		n++
	}
	return n
}
