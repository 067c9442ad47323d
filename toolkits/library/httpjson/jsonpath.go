package main

import (
	"encoding/json"
	"fmt"
	"github.com/kilnhq/kiln/toolkits/go/jsondoc"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// This file implements a subset of JSONPath (RFC 9535); README.md lists
// exactly what is supported. A path is parsed once into a query and then
// evaluated against a decoded document (see jsondoc.go).

// PathError is a path that does not parse. Pos is the 0-based index of the
// offending character (in Unicode characters, not bytes).
type PathError struct {
	Path string
	Pos  int
	Msg  string
}

func (e *PathError) Error() string {
	shown := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, e.Path)
	return fmt.Sprintf("invalid JSONPath at character %d: %s\n  %s\n  %s^",
		e.Pos+1, e.Msg, shown, strings.Repeat(" ", e.Pos))
}

type query struct {
	relative bool // starts with @ (inside filters)
	segs     []segment
}

type segment struct {
	descendant bool
	sels       []selector
}

type selKind int

const (
	selName selKind = iota
	selWildcard
	selIndex
	selSlice
	selFilter
)

type selector struct {
	kind   selKind
	name   string
	index  int
	slice  [3]*int // start, end, step
	filter expr
}

// singular reports whether q selects at most one node: only names and
// indexes, no descendants.
func (q *query) singular() bool {
	for _, s := range q.segs {
		if s.descendant || len(s.sels) != 1 || (s.sels[0].kind != selName && s.sels[0].kind != selIndex) {
			return false
		}
	}
	return true
}

// Limits of the parser.
const (
	maxPathChars   = 4096
	maxFilterDepth = 32
	maxInt         = 1<<53 - 1 // RFC 9535 integers are I-JSON exact
)

type pathParser struct {
	text  string
	src   []rune
	pos   int
	depth int
}

// parsePath parses a JSONPath query such as $.store.book[0].title.
func parsePath(s string) (*query, error) {
	p := &pathParser{text: s, src: []rune(s)}
	if len(p.src) > maxPathChars {
		return nil, p.fail(maxPathChars, "the path is longer than %d characters", maxPathChars)
	}
	if len(p.src) == 0 {
		return nil, p.fail(0, "the path is empty; use $ for the whole document")
	}
	if p.src[0] != '$' {
		return nil, p.fail(0, "a path starts with $ (the whole document), for example $.items[0].name")
	}
	p.pos = 1
	segs, err := p.segments()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.src) {
		return nil, p.unexpected("expected '.', '..' or '[' to start the next step")
	}
	return &query{segs: segs}, nil
}

func (p *pathParser) fail(pos int, format string, args ...any) error {
	return &PathError{Path: p.text, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *pathParser) unexpected(what string) error {
	if p.pos >= len(p.src) {
		return p.fail(p.pos, "the path ends too early: %s", what)
	}
	return p.fail(p.pos, "unexpected %q: %s", p.src[p.pos], what)
}

func (p *pathParser) peek() rune {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *pathParser) peekAt(off int) rune {
	if p.pos+off < len(p.src) {
		return p.src[p.pos+off]
	}
	return 0
}

func (p *pathParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func nameFirst(r rune) bool {
	return r == '_' || r >= 0x80 && r != unicode.ReplacementChar || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}

func nameChar(r rune) bool { return nameFirst(r) || '0' <= r && r <= '9' }

// segments parses steps until a character that cannot start one.
func (p *pathParser) segments() ([]segment, error) {
	var segs []segment
	for {
		switch p.peek() {
		case '.':
			if p.peekAt(1) == '.' {
				p.pos += 2
				seg, err := p.afterDot(true)
				if err != nil {
					return nil, err
				}
				segs = append(segs, seg)
				continue
			}
			p.pos++
			seg, err := p.afterDot(false)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
		case '[':
			sels, err := p.bracket()
			if err != nil {
				return nil, err
			}
			segs = append(segs, segment{sels: sels})
		default:
			return segs, nil
		}
	}
}

// afterDot parses what follows '.' or '..': a name, '*' or (after '..') a
// bracket.
func (p *pathParser) afterDot(descendant bool) (segment, error) {
	r := p.peek()
	switch {
	case r == '*':
		p.pos++
		return segment{descendant: descendant, sels: []selector{{kind: selWildcard}}}, nil
	case r == '[' && descendant:
		sels, err := p.bracket()
		return segment{descendant: true, sels: sels}, err
	case r == '[':
		return segment{}, p.fail(p.pos-1, "remove the '.' before '[': write $.a['b'] or $.a[0], not $.a.['b']")
	case '0' <= r && r <= '9' || r == '-':
		return segment{}, p.fail(p.pos, "array indexes go in brackets, as in $.items[0]; member names that start with a digit or '-' must be quoted: ['0']")
	case nameFirst(r):
		start := p.pos
		for p.pos < len(p.src) && nameChar(p.src[p.pos]) {
			p.pos++
		}
		name := string(p.src[start:p.pos])
		if p.peek() == '-' {
			return segment{}, p.fail(p.pos, "unexpected '-' in a member name: quote names with characters other than letters, digits and _ as ['%s-…']", name)
		}
		return segment{descendant: descendant, sels: []selector{{kind: selName, name: name}}}, nil
	}
	if descendant {
		return segment{}, p.unexpected("expected a member name, * or [ after '..'")
	}
	return segment{}, p.unexpected("expected a member name or * after '.'")
}

// bracket parses [sel, sel, ...] starting at '['.
func (p *pathParser) bracket() ([]selector, error) {
	open := p.pos
	p.pos++ // '['
	p.skipSpace()
	if p.peek() == ']' {
		return nil, p.fail(open, "empty brackets: put a quoted name, an index, a slice, * or a ?filter inside")
	}
	var sels []selector
	for {
		sel, err := p.selector()
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			return sels, nil
		case 0:
			return nil, p.fail(open, "this '[' is never closed")
		default:
			return nil, p.unexpected("expected ',' or ']'")
		}
	}
}

func (p *pathParser) selector() (selector, error) {
	r := p.peek()
	switch {
	case r == '\'' || r == '"':
		s, err := p.stringLit()
		return selector{kind: selName, name: s}, err
	case r == '*':
		p.pos++
		return selector{kind: selWildcard}, nil
	case r == '?':
		p.pos++
		p.skipSpace()
		e, err := p.logicalOr()
		return selector{kind: selFilter, filter: e}, err
	case r == '-' || r == ':' || '0' <= r && r <= '9':
		return p.indexOrSlice()
	case r == '(':
		return selector{}, p.fail(p.pos, "script expressions [(...)] are not supported; use an index, a slice or a ?filter")
	case nameFirst(r):
		return selector{}, p.fail(p.pos, "member names in brackets must be quoted, as in ['name']")
	}
	return selector{}, p.unexpected("expected a quoted name, an index, a slice, * or a ?filter")
}

func (p *pathParser) indexOrSlice() (selector, error) {
	var parts [3]*int
	n := 0 // colons seen
	for {
		p.skipSpace()
		if r := p.peek(); r == '-' || '0' <= r && r <= '9' {
			v, err := p.integer()
			if err != nil {
				return selector{}, err
			}
			parts[n] = &v
			p.skipSpace()
		}
		if p.peek() != ':' {
			break
		}
		if n == 2 {
			return selector{}, p.fail(p.pos, "a slice has at most three parts: [start:end:step]")
		}
		n++
		p.pos++
	}
	if n == 0 {
		return selector{kind: selIndex, index: *parts[0]}, nil
	}
	return selector{kind: selSlice, slice: parts}, nil
}

func (p *pathParser) integer() (int, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.src) && '0' <= p.src[p.pos] && p.src[p.pos] <= '9' {
		p.pos++
	}
	text := string(p.src[start:p.pos])
	switch {
	case p.pos == digits:
		return 0, p.fail(start, "expected digits after '-'")
	case p.pos-digits > 1 && p.src[digits] == '0':
		return 0, p.fail(start, "integers may not have leading zeros: %s", text)
	case text == "-0":
		return 0, p.fail(start, "-0 is not a valid index; use 0")
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v > maxInt || v < -maxInt {
		return 0, p.fail(start, "integer %s is out of range (at most ±%d)", text, maxInt)
	}
	return int(v), nil
}

// stringLit parses a single- or double-quoted string with JSON-style escapes.
func (p *pathParser) stringLit() (string, error) {
	quote := p.src[p.pos]
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", p.fail(start, "this string is never closed: add the closing %c", quote)
		}
		r := p.src[p.pos]
		switch {
		case r == quote:
			p.pos++
			return b.String(), nil
		case r < 0x20:
			return "", p.fail(p.pos, "control characters must be escaped in strings (\\n, \\t, \\u00XX)")
		case r != '\\':
			b.WriteRune(r)
			p.pos++
			continue
		}
		esc := p.pos
		p.pos++
		switch e := p.peek(); e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '/', '\\', '\'', '"':
			if (e == '\'' || e == '"') && e != quote {
				return "", p.fail(esc, "\\%c is only valid inside %c-quoted strings", e, e)
			}
			b.WriteRune(e)
		case 'u':
			r, err := p.unicodeEscape(esc)
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
			continue
		default:
			return "", p.fail(esc, "unknown escape sequence; use \\b \\f \\n \\r \\t \\/ \\\\ \\' \\\" or \\uXXXX")
		}
		p.pos++
	}
}

// unicodeEscape parses uXXXX (and a following \uXXXX low surrogate) with
// p.pos at 'u'; it leaves p.pos after the escape.
func (p *pathParser) unicodeEscape(esc int) (rune, error) {
	hex4 := func() (rune, bool) {
		if p.pos+5 > len(p.src) {
			return 0, false
		}
		v, err := strconv.ParseUint(string(p.src[p.pos+1:p.pos+5]), 16, 32)
		if err != nil {
			return 0, false
		}
		p.pos += 5
		return rune(v), true
	}
	r, ok := hex4()
	if !ok {
		return 0, p.fail(esc, "\\u must be followed by four hex digits")
	}
	if utf16.IsSurrogate(r) {
		if r >= 0xDC00 || p.peek() != '\\' || p.peekAt(1) != 'u' {
			return 0, p.fail(esc, "unpaired UTF-16 surrogate in \\u escape")
		}
		p.pos++
		lo, ok := hex4()
		if r = utf16.DecodeRune(r, lo); !ok || r == unicode.ReplacementChar {
			return 0, p.fail(esc, "unpaired UTF-16 surrogate in \\u escape")
		}
	}
	return r, nil
}

// ---- filter expressions ----

type expr interface {
	test(ev *evaluator, cur any) bool
}

type orExpr []expr
type andExpr []expr
type notExpr struct{ e expr }
type existsExpr struct{ q *query }
type cmpExpr struct {
	op   string
	l, r operand
}

// operand is a literal (lit) or a singular query (q).
type operand struct {
	q   *query
	lit any
}

func (p *pathParser) logicalOr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxFilterDepth {
		return nil, p.fail(p.pos, "filters are nested more than %d levels deep", maxFilterDepth)
	}
	var terms orExpr
	for {
		e, err := p.logicalAnd()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		p.skipSpace()
		if p.peek() == '|' && p.peekAt(1) == '|' {
			p.pos += 2
			p.skipSpace()
			continue
		}
		if p.peek() == '|' {
			return nil, p.fail(p.pos, "use || for 'or'")
		}
		if len(terms) == 1 {
			return terms[0], nil
		}
		return terms, nil
	}
}

func (p *pathParser) logicalAnd() (expr, error) {
	var terms andExpr
	for {
		e, err := p.basic()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		p.skipSpace()
		if p.peek() == '&' && p.peekAt(1) == '&' {
			p.pos += 2
			p.skipSpace()
			continue
		}
		if p.peek() == '&' {
			return nil, p.fail(p.pos, "use && for 'and'")
		}
		if len(terms) == 1 {
			return terms[0], nil
		}
		return terms, nil
	}
}

// basic parses a parenthesized expression, a negation, an existence test or
// a comparison.
func (p *pathParser) basic() (expr, error) {
	p.skipSpace()
	switch p.peek() {
	case '!':
		p.pos++
		p.skipSpace()
		if p.peek() == '(' {
			e, err := p.paren()
			return notExpr{e}, err
		}
		start := p.pos
		op, err := p.operand()
		if err != nil {
			return nil, err
		}
		if op.q == nil {
			return nil, p.fail(start, "'!' applies to a query such as !@.name or to a parenthesized expression")
		}
		p.skipSpace()
		if p.compOp() != "" {
			return nil, p.fail(start-1, "to negate a comparison, use parentheses: !(@.a == 1)")
		}
		return notExpr{existsExpr{op.q}}, nil
	case '(':
		return p.paren()
	}
	start := p.pos
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	op := p.compOp()
	if op == "" {
		if p.peek() == '=' {
			return nil, p.fail(p.pos, "use == to compare")
		}
		if left.q == nil {
			return nil, p.fail(start, "a literal alone is not a test; compare it with a query, as in @.kind == 'book'")
		}
		return existsExpr{left.q}, nil
	}
	p.skipSpace()
	rightPos := p.pos
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	if left.q != nil && !left.q.singular() {
		return nil, p.fail(start, "only single-value queries (names and indexes, no *, .. or filters) can be compared")
	}
	if right.q != nil && !right.q.singular() {
		return nil, p.fail(rightPos, "only single-value queries (names and indexes, no *, .. or filters) can be compared")
	}
	return cmpExpr{op: op, l: left, r: right}, nil
}

func (p *pathParser) paren() (expr, error) {
	open := p.pos
	p.pos++
	e, err := p.logicalOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		if p.pos >= len(p.src) {
			return nil, p.fail(open, "this '(' is never closed")
		}
		return nil, p.unexpected("expected ')'")
	}
	p.pos++
	return e, nil
}

func (p *pathParser) compOp() string {
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		n := len(op)
		if p.pos+n <= len(p.src) && string(p.src[p.pos:p.pos+n]) == op {
			p.pos += n
			return op
		}
	}
	return ""
}

func (p *pathParser) operand() (operand, error) {
	r := p.peek()
	switch {
	case r == '@' || r == '$':
		p.pos++
		segs, err := p.segments()
		if err != nil {
			return operand{}, err
		}
		return operand{q: &query{relative: r == '@', segs: segs}}, nil
	case r == '\'' || r == '"':
		s, err := p.stringLit()
		return operand{lit: s}, err
	case r == '-' || '0' <= r && r <= '9':
		return p.number()
	case nameFirst(r):
		start := p.pos
		for p.pos < len(p.src) && nameChar(p.src[p.pos]) {
			p.pos++
		}
		word := string(p.src[start:p.pos])
		switch word {
		case "true":
			return operand{lit: true}, nil
		case "false":
			return operand{lit: false}, nil
		case "null":
			return operand{lit: nil}, nil
		}
		if p.peek() == '(' {
			return operand{}, p.fail(start, "functions such as %s() are not supported", word)
		}
		return operand{}, p.fail(start, "unknown word %q: strings must be quoted ('%s'), and queries start with @ or $", word, word)
	}
	return operand{}, p.unexpected("expected @, $, a string, a number, true, false or null")
}

// number parses a JSON number literal.
func (p *pathParser) number() (operand, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && '0' <= p.src[p.pos] && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.peek() == '-' {
		p.pos++
	}
	intStart := p.pos
	if n := digits(); n == 0 {
		return operand{}, p.fail(start, "expected digits in the number")
	} else if n > 1 && p.src[intStart] == '0' {
		return operand{}, p.fail(start, "numbers may not have leading zeros")
	}
	if p.peek() == '.' {
		p.pos++
		if digits() == 0 {
			return operand{}, p.fail(start, "expected digits after the decimal point")
		}
	}
	if r := p.peek(); r == 'e' || r == 'E' {
		p.pos++
		if r := p.peek(); r == '+' || r == '-' {
			p.pos++
		}
		if digits() == 0 {
			return operand{}, p.fail(start, "expected digits in the exponent")
		}
	}
	text := string(p.src[start:p.pos])
	if f, err := strconv.ParseFloat(text, 64); err != nil || math.IsInf(f, 0) {
		return operand{}, p.fail(start, "number %s is out of range", text)
	}
	return operand{lit: json.Number(text)}, nil
}

// ---- evaluation ----

// node is a selected value and how it was reached, for its normalized path.
type node struct {
	v      any
	parent *node
	key    string
	index  int
	isElem bool
}

// path returns the RFC 9535 normalized path of n, such as $['a'][0].
func (n *node) path() string {
	var parts []string
	for m := n; m.parent != nil; m = m.parent {
		if m.isElem {
			parts = append(parts, "["+strconv.Itoa(m.index)+"]")
		} else {
			parts = append(parts, "['"+escapeName(m.key)+"']")
		}
	}
	var b strings.Builder
	b.WriteByte('$')
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	return b.String()
}

func escapeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// maxNodes bounds the nodes one step of a query may select, so that paths
// such as $..* on a large document stay within memory.
const maxNodes = 200_000

type evaluator struct {
	root any
	err  error
}

// selectNodes evaluates q against doc.
func selectNodes(q *query, doc any) ([]*node, error) {
	ev := &evaluator{root: doc}
	out := ev.run(q, &node{v: doc})
	return out, ev.err
}

func (ev *evaluator) run(q *query, start *node) []*node {
	cur := []*node{start}
	for i, seg := range q.segs {
		var next []*node
		emit := func(n *node) bool {
			if len(next) >= maxNodes {
				if ev.err == nil {
					ev.err = fmt.Errorf("step %d of the path selects more than %d values; use a narrower path", i+1, maxNodes)
				}
				return false
			}
			next = append(next, n)
			return true
		}
		for _, n := range cur {
			if seg.descendant {
				ev.descend(n, seg.sels, emit)
			} else {
				ev.applyAll(n, seg.sels, emit)
			}
			if ev.err != nil {
				return nil
			}
		}
		cur = next
	}
	return cur
}

func (ev *evaluator) descend(n *node, sels []selector, emit func(*node) bool) bool {
	if !ev.applyAll(n, sels, emit) {
		return false
	}
	ok := true
	children(n, func(c *node) bool {
		ok = ev.descend(c, sels, emit)
		return ok
	})
	return ok
}

func (ev *evaluator) applyAll(n *node, sels []selector, emit func(*node) bool) bool {
	for i := range sels {
		if !ev.apply(n, &sels[i], emit) {
			return false
		}
	}
	return true
}

// children calls f for each member or element of n, in document order,
// until f returns false.
func children(n *node, f func(*node) bool) {
	switch v := n.v.(type) {
	case *jsondoc.Object:
		for i, k := range v.Keys {
			if !f(&node{v: v.Values[i], parent: n, key: k}) {
				return
			}
		}
	case []any:
		for i, e := range v {
			if !f(&node{v: e, parent: n, index: i, isElem: true}) {
				return
			}
		}
	}
}

func (ev *evaluator) apply(n *node, sel *selector, emit func(*node) bool) bool {
	switch sel.kind {
	case selName:
		if obj, ok := n.v.(*jsondoc.Object); ok {
			if v, ok := obj.Get(sel.name); ok {
				return emit(&node{v: v, parent: n, key: sel.name})
			}
		}
	case selWildcard:
		ok := true
		children(n, func(c *node) bool { ok = emit(c); return ok })
		return ok
	case selIndex:
		if arr, ok := n.v.([]any); ok {
			i := sel.index
			if i < 0 {
				i += len(arr)
			}
			if i >= 0 && i < len(arr) {
				return emit(&node{v: arr[i], parent: n, index: i, isElem: true})
			}
		}
	case selSlice:
		if arr, ok := n.v.([]any); ok {
			for _, i := range sliceIndexes(sel.slice, len(arr)) {
				if !emit(&node{v: arr[i], parent: n, index: i, isElem: true}) {
					return false
				}
			}
		}
	case selFilter:
		ok := true
		children(n, func(c *node) bool {
			if sel.filter.test(ev, c.v) {
				ok = emit(c)
			}
			return ok && ev.err == nil
		})
		return ok && ev.err == nil
	}
	return true
}

// sliceIndexes implements RFC 9535 section 2.3.4.2.2.
func sliceIndexes(parts [3]*int, n int) []int {
	step := 1
	if parts[2] != nil {
		step = *parts[2]
	}
	if step == 0 {
		return nil
	}
	start, end := 0, n
	if step < 0 {
		start, end = n-1, -n-1
	}
	if parts[0] != nil {
		start = *parts[0]
	}
	if parts[1] != nil {
		end = *parts[1]
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	var out []int
	if step > 0 {
		lower, upper := min(max(start, 0), n), min(max(end, 0), n)
		for i := lower; i < upper; i += step {
			out = append(out, i)
		}
		return out
	}
	upper, lower := min(max(start, -1), n-1), min(max(end, -1), n-1)
	for i := upper; lower < i; i += step {
		out = append(out, i)
	}
	return out
}

func (e orExpr) test(ev *evaluator, cur any) bool {
	for _, t := range e {
		if t.test(ev, cur) {
			return true
		}
	}
	return false
}

func (e andExpr) test(ev *evaluator, cur any) bool {
	for _, t := range e {
		if !t.test(ev, cur) {
			return false
		}
	}
	return true
}

func (e notExpr) test(ev *evaluator, cur any) bool { return !e.e.test(ev, cur) }

func (e existsExpr) test(ev *evaluator, cur any) bool {
	return len(ev.sub(e.q, cur)) > 0
}

func (ev *evaluator) sub(q *query, cur any) []*node {
	start := &node{v: ev.root}
	if q.relative {
		start = &node{v: cur}
	}
	return ev.run(q, start)
}

// value returns the operand's value, or ok=false for a query that selects
// nothing.
func (o operand) value(ev *evaluator, cur any) (any, bool) {
	if o.q == nil {
		return o.lit, true
	}
	nodes := ev.sub(o.q, cur)
	if len(nodes) == 0 {
		return nil, false
	}
	return nodes[0].v, true
}

func (e cmpExpr) test(ev *evaluator, cur any) bool {
	a, aok := e.l.value(ev, cur)
	b, bok := e.r.value(ev, cur)
	eq := func() bool {
		if !aok || !bok {
			return aok == bok
		}
		return equalValues(a, b)
	}
	lt := func(x, y any, xok, yok bool) bool {
		if !xok || !yok {
			return false
		}
		return lessValues(x, y)
	}
	switch e.op {
	case "==":
		return eq()
	case "!=":
		return !eq()
	case "<":
		return lt(a, b, aok, bok)
	case ">":
		return lt(b, a, bok, aok)
	case "<=":
		return lt(a, b, aok, bok) || eq()
	case ">=":
		return lt(b, a, bok, aok) || eq()
	}
	return false
}

func numberOf(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func equalValues(a, b any) bool {
	if x, ok := numberOf(a); ok {
		y, ok := numberOf(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	case *jsondoc.Object:
		y, ok := b.(*jsondoc.Object)
		if !ok || len(x.Keys) != len(y.Keys) {
			return false
		}
		for i, k := range x.Keys {
			w, ok := y.Get(k)
			if !ok || !equalValues(x.Values[i], w) {
				return false
			}
		}
		return true
	}
	return false
}

func lessValues(a, b any) bool {
	if x, ok := numberOf(a); ok {
		y, ok := numberOf(b)
		return ok && x < y
	}
	if x, ok := a.(string); ok {
		y, ok := b.(string)
		return ok && x < y
	}
	return false
}
