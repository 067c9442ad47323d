package kiln

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The result document is written by hand, not by encoding/json, whose
// reflection cost more than half of a trivial call's instructions (a
// command module starts a fresh instance every call, so its encoders were
// derived anew each time). The output is what json.Marshal writes for
// these types (TestResultJSONMatchesEncodingJSON) when the structured
// content is compact JSON, as the toolkit's own is; toResult builds the
// text item of a struct result from that same JSON, which is then
// json.Marshal's document for the struct's Result too (FuzzFastEncode).

// encodedBy is what wrote a Result's StructuredContent, which says how
// much of it appendJSON must check. What the toolkit wrote itself is
// copied as it is, not checked and compacted again (which, with the
// reflection of json.Marshal, was most of a trivial call with a struct
// result).
type encodedBy uint8

const (
	// byHandler: a Result a handler built, checked and compacted as
	// json.Marshal does a json.RawMessage.
	byHandler encodedBy = iota
	// byMarshal: json.Marshal, in toResult: valid, compact, and escaped
	// as appendCompact would escape it.
	byMarshal
	// byFastEncoder: encode_fast.go, in toResult: also valid UTF-8 whose
	// strings hold nothing appendJSONString would escape but quotes and
	// backslashes, and the result's one content item is its text.
	byFastEncoder
)

var errInvalidStructuredContent = errors.New("structuredContent is not valid JSON")

// jsonSizeHint is about the length of r's document (escapes aside), so
// that appendJSON allocates once instead of growing its buffer step by
// step (in wasm each growth is a copy and a fresh allocation).
func (r Result) jsonSizeHint() int {
	n := 48 + len(r.StructuredContent)
	for _, c := range r.Content {
		n += 48 + len(c.Type) + len(c.Text) + len(c.Data) + len(c.MIMEType)
	}
	return n
}

// appendJSON appends r as the JSON document of an MCP tool result.
func (r Result) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"content":`...)
	switch {
	case r.structuredBy == byFastEncoder:
		b = append(b, `[{"type":"text","text":`...)
		b = appendQuotedJSON(b, r.StructuredContent)
		b = append(b, '}', ']')
	case r.Content == nil:
		b = append(b, "null"...)
	default:
		b = append(b, '[')
		for i, c := range r.Content {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.appendJSON(b)
		}
		b = append(b, ']')
	}
	if len(r.StructuredContent) > 0 {
		b = append(b, `,"structuredContent":`...)
		switch {
		case r.structuredBy != byHandler:
			b = append(b, r.StructuredContent...)
		case json.Valid(r.StructuredContent):
			b = appendCompact(b, r.StructuredContent)
		default:
			return nil, errInvalidStructuredContent
		}
	}
	if r.IsError {
		b = append(b, `,"isError":true`...)
	}
	return append(b, '}'), nil
}

func (c Content) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, c.Type)
	for _, f := range []struct{ name, value string }{{"text", c.Text}, {"data", c.Data}, {"mimeType", c.MIMEType}} {
		if f.value != "" {
			b = append(b, ',', '"')
			b = append(b, f.name...)
			b = append(b, '"', ':')
			b = appendJSONString(b, f.value)
		}
	}
	return append(b, '}')
}

// appendCompact appends valid JSON without insignificant whitespace and
// with <, >, &, U+2028 and U+2029 escaped in strings, as json.Marshal does
// for a json.RawMessage.
func appendCompact(b, data []byte) []byte {
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			case c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				continue
			case c == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && data[i+2]&^1 == 0xa8:
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[data[i+2]&0xf])
				i += 2
				continue
			}
			b = append(b, c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			if c == '"' {
				inString = true
			}
			b = append(b, c)
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendQuotedJSON appends data, the fast encoder's JSON, as a JSON
// string: what appendJSONString would write, with only quotes and
// backslashes to escape (byFastEncoder), skipped a word at a time
// (swar.go) where there are none.
func appendQuotedJSON(b, data []byte) []byte {
	b = append(b, '"')
	start, i := 0, 0
	for i < len(data) {
		end := len(data) // the bytes to read one by one
		if end-i >= 8 {
			x := binary.LittleEndian.Uint64(data[i:])
			if !hasByte(x, '"') && !hasByte(x, '\\') {
				i += 8
				continue
			}
			end = i + 8
		}
		for ; i < end; i++ {
			if c := data[i]; c == '"' || c == '\\' {
				b = append(b, data[start:i]...)
				b = append(b, '\\', c)
				start = i + 1
			}
		}
	}
	b = append(b, data[start:]...)
	return append(b, '"')
}

// appendJSONString appends s as a JSON string the way encoding/json does:
// control characters, <, > and & as \u escapes, U+2028 and U+2029 escaped,
// and invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start, i := 0, 0
	if len(s) >= 16 { // a call costs more than a short string's scan
		i = plainStringBytes(s) // swar.go
	}
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
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
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
