// Package jsondoc decodes and encodes JSON documents cheaply inside the
// sandbox, keeping the order of object members. It is part of the Go
// toolkit so that tools share it (a tool module is built from one
// directory).
package jsondoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Documents are decoded into these values, which keep the order of object
// members so that results come out in document order:
//
//	nil, bool, string, json.Number, []any, *Object
//
// The parser is hand-written rather than built on json.Decoder.Token, which
// allocates per token and costs several times more fuel in the sandbox.
type Object struct {
	// Keys and Values are the members in document order (Values[i] belongs
	// to Keys[i]). Treat them as read-only; change members with Set.
	Keys   []string
	Values []any
	index  map[string]int // key positions, built once an object has many members
}

const indexAt = 8

func (o *Object) Get(k string) (any, bool) {
	if o.index != nil {
		i, ok := o.index[k]
		if !ok {
			return nil, false
		}
		return o.Values[i], true
	}
	for i, key := range o.Keys {
		if key == k {
			return o.Values[i], true
		}
	}
	return nil, false
}

// set replaces the value of k, keeping its position, or appends k.
func (o *Object) Set(k string, v any) {
	if o.index != nil {
		if i, ok := o.index[k]; ok {
			o.Values[i] = v
			return
		}
	} else {
		for i, key := range o.Keys {
			if key == k {
				o.Values[i] = v
				return
			}
		}
	}
	o.Keys = append(o.Keys, k)
	o.Values = append(o.Values, v)
	if o.index != nil {
		o.index[k] = len(o.Keys) - 1
	} else if len(o.Keys) > indexAt {
		o.index = make(map[string]int, len(o.Keys))
		for i, key := range o.Keys {
			o.index[key] = i
		}
	}
}

// MarshalJSON writes the members in document order.
func (o *Object) MarshalJSON() ([]byte, error) { return Append(nil, o), nil }

// appendJSON encodes a decoded value (see object) without going through
// encoding/json, which re-validates the output of every nested MarshalJSON.
func Append(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number:
		return append(b, x...)
	case string:
		return AppendString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = Append(b, e)
		}
		return append(b, ']')
	case *Object:
		b = append(b, '{')
		for i, k := range x.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			b = Append(b, x.Values[i])
		}
		return append(b, '}')
	}
	data, _ := json.Marshal(v)
	return append(b, data...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string (s is valid UTF-8).
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hexDigits[r&0xF])
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// MaxDepth bounds the nesting of decoded documents.
const MaxDepth = 512

type jsonParser struct {
	data []byte
	pos  int
}

// decodeJSON decodes one JSON document, keeping member order. A repeated
// member name keeps its first position and its last value, as
// encoding/json does. Invalid UTF-8 in strings becomes U+FFFD.
func Decode(data []byte) (any, error) {
	p := &jsonParser{data: data}
	p.space()
	if p.pos == len(data) {
		return nil, fmt.Errorf("not valid JSON: the document is empty")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(data) {
		return nil, fmt.Errorf("not valid JSON: unexpected data after the document at offset %d", p.pos)
	}
	return v, nil
}

func (p *jsonParser) fail(msg string) error {
	if p.pos >= len(p.data) {
		return fmt.Errorf("not valid JSON: the document ends too early (%s)", msg)
	}
	return fmt.Errorf("not valid JSON: %s, found %q at offset %d", msg, p.data[p.pos], p.pos)
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.fail("expected a value")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		if depth >= MaxDepth {
			return nil, fmt.Errorf("not valid JSON: nested more than %d levels deep", MaxDepth)
		}
		return p.object(depth)
	case c == '[':
		if depth >= MaxDepth {
			return nil, fmt.Errorf("not valid JSON: nested more than %d levels deep", MaxDepth)
		}
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.fail("expected a value")
}

func (p *jsonParser) literal(word string) error {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		return p.fail("expected " + word)
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	p.pos++ // {
	obj := &Object{}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return obj, nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("expected a member name in double quotes")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail("expected ':' after a member name")
		}
		p.pos++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj.Set(k, v)
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return obj, nil
		}
		return nil, p.fail("expected ',' or '}' in an object")
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.pos++ // [
	arr := []any{}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return arr, nil
	}
	for {
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return arr, nil
		}
		return nil, p.fail("expected ',' or ']' in an array")
	}
}

func (p *jsonParser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.data[start:p.pos]
			p.pos++
			if !utf8.Valid(s) {
				return string(bytes.ToValidUTF8(s, []byte("\uFFFD"))), nil
			}
			return string(s), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail("control characters must be escaped in strings")
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				buf = bytes.ToValidUTF8(buf, []byte("\uFFFD"))
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control characters must be escaped in strings")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.data) {
			break
		}
		switch e := p.data[p.pos]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4(p.pos + 1)
			if !ok {
				return "", p.fail("expected four hex digits after \\u")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if p.pos+2 < len(p.data) && p.data[p.pos+1] == '\\' && p.data[p.pos+2] == 'u' {
					r2, ok2 = p.hex4(p.pos + 3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					p.pos += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("invalid escape in a string")
		}
		p.pos++
	}
	return "", p.fail("a string is never closed")
}

func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.data[at:at+4]), 16, 32)
	return rune(v), err == nil
}

func (p *jsonParser) number() (any, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	n := digits()
	if n == 0 {
		return nil, p.fail("expected digits in a number")
	}
	if n > 1 && p.data[intStart] == '0' {
		p.pos = intStart
		return nil, p.fail("numbers may not have leading zeros")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.fail("expected digits after a decimal point")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.fail("expected digits in an exponent")
		}
	}
	return json.Number(p.data[start:p.pos]), nil
}
