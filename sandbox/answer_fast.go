package sandbox

import (
	"bytes"
	"encoding/json"
	"strings"
)

// fastAnswer reads a result document of the shape the Go toolkit writes
// for a result of text items (toolkits/go/kiln/result_json.go), compact,
// its keys in the toolkit's order:
//
//	{"content":[{"type":"text","text":"..."},...],"structuredContent":{...},"isError":true}
//
// without encoding/json, whose reflection-driven decoding of the document
// was a third of the host's own work in a warm call. It reports false for
// anything else, and for a string with a \u escape; parseAnswer then
// decodes the document with encoding/json, which also words the error.
// What it accepts it reads exactly as that decoding would
// (FuzzFastAnswer): the keys match the decoder's field names exactly and
// none repeats, the strings are unescaped as the decoder does, and the
// structured content is checked as the decoder checks a document.
// doc must be valid UTF-8.
func fastAnswer(doc []byte) (Answer, bool) {
	rest, ok := bytes.CutPrefix(doc, []byte(`{"content":[`))
	if !ok {
		return Answer{}, false
	}
	var texts []string
	for ok {
		if rest, ok = bytes.CutPrefix(rest, []byte(`{"type":"text","text":`)); !ok {
			return Answer{}, false
		}
		var text string
		if text, rest, ok = jsonString(rest); !ok {
			return Answer{}, false
		}
		texts = append(texts, text)
		if rest, ok = bytes.CutPrefix(rest, []byte("}")); !ok {
			return Answer{}, false
		}
		rest, ok = bytes.CutPrefix(rest, []byte(","))
	}
	if rest, ok = bytes.CutPrefix(rest, []byte("]")); !ok {
		return Answer{}, false
	}
	a := Answer{Document: json.RawMessage(doc)}
	if r, ok := bytes.CutPrefix(rest, []byte(`,"structuredContent":`)); ok {
		n := objectLen(r)
		if n == 0 || !json.Valid(r[:n]) {
			return Answer{}, false
		}
		a.Structured, rest = json.RawMessage(r[:n]), r[n:]
	}
	if r, ok := bytes.CutPrefix(rest, []byte(`,"isError":true`)); ok {
		a.IsError, rest = true, r
	} else if r, ok := bytes.CutPrefix(rest, []byte(`,"isError":false`)); ok {
		rest = r
	}
	if string(rest) != "}" {
		return Answer{}, false
	}
	a.Text, a.TextItems = strings.Join(texts, "\n"), texts
	return a, true
}

// jsonString decodes the JSON string at the start of b and returns the
// bytes after it. It reports false for a string it cannot vouch for: one
// with a \u escape (surrogates make these the subtle ones), a control
// character, an unknown escape, or no closing quote.
func jsonString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	var out []byte // nil while the string has no escape
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			if out == nil {
				return string(b[1:i]), b[i+1:], true
			}
			return string(out), b[i+1:], true
		case c < 0x20:
			return "", nil, false
		case c == '\\':
			if out == nil { // grown as the string goes: b may hold a whole document more
				out = append(make([]byte, 0, 2*i), b[1:i]...)
			}
			i++
			if i == len(b) {
				return "", nil, false
			}
			e, ok := unescape(b[i])
			if !ok {
				return "", nil, false
			}
			out = append(out, e)
		case out != nil:
			out = append(out, c)
		}
	}
	return "", nil, false
}

// unescape is what the JSON escape \c stands for, for every escape but \u.
func unescape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// maxObjectDepth bounds the nesting of structured content on the fast
// path: json.Valid checks the object on its own, one level shallower than
// encoding/json, which limits a whole document's depth, sees it, so the
// deepest objects go to the decoder, which gives the verdict.
const maxObjectDepth = 1000

// objectLen is the length of the JSON object at the start of b, found by
// matching brackets outside strings, or 0 when b does not start with one,
// does not end, or nests deeper than maxObjectDepth. It does not check the
// object: json.Valid does.
func objectLen(b []byte) int {
	if len(b) == 0 || b[0] != '{' {
		return 0
	}
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > maxObjectDepth {
				return 0
			}
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}
