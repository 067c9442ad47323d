package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kilnhq/kiln/toolkits/go/jsondoc"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of one call.
const (
	maxInputBytes = 2 << 20
	maxRows       = 100_000
	maxColumns    = 1000
	// maxOutputBytes bounds the rows or CSV a tool returns. A result
	// carries them twice (structuredContent and a JSON text copy), so 80 KiB
	// of data stays under the smallest plan's 256 KiB result limit.
	maxOutputBytes = 80 << 10
	defaultLimit   = 1000
	maxLimit       = 100_000
)

// table is a parsed CSV document: column names and rows of cells.
type table struct {
	columns   []string
	rows      [][]string
	delimiter rune
}

type readOptions struct {
	delimiter  string // "" or "auto" to detect
	header     bool
	ragged     bool
	lazyQuotes bool
	trimSpace  bool
	comment    string
}

// parseDelimiter reads a delimiter argument: one character, or tab/\t.
func parseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "tab", `\t`, "\t":
		return '\t', nil
	case "comma":
		return ',', nil
	case "semicolon":
		return ';', nil
	case "pipe":
		return '|', nil
	}
	r, n := utf8.DecodeRuneInString(s)
	if n != len(s) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' || r == 0xFEFF {
		return 0, fmt.Errorf("delimiter %q must be one character (not a quote or line break), or tab", s)
	}
	return r, nil
}

// detectDelimiter picks the candidate that splits the first lines into the
// same number of fields, preferring more fields, then the usual order.
func detectDelimiter(text string) rune {
	lines := strings.SplitN(text, "\n", 11)
	if len(lines) > 10 {
		lines = lines[:10]
	}
	best, bestScore := ',', -1
	for _, d := range []rune{',', ';', '\t', '|'} {
		counts := map[int]int{}
		for _, l := range lines {
			if strings.TrimSpace(l) == "" {
				continue
			}
			counts[countOutsideQuotes(l, d)]++
		}
		// Score: the most common count, weighted by how many lines agree.
		for n, agree := range counts {
			if n == 0 {
				continue
			}
			if score := agree*1000 + n; score > bestScore {
				best, bestScore = d, score
			}
		}
	}
	return best
}

func countOutsideQuotes(line string, d rune) int {
	n, quoted := 0, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == d && !quoted:
			n++
		}
	}
	return n
}

// readTable parses CSV text.
func readTable(text string, o readOptions) (*table, error) {
	if len(text) > maxInputBytes {
		return nil, fmt.Errorf("the CSV is %d bytes; at most %d MiB are accepted", len(text), maxInputBytes>>20)
	}
	if !utf8.ValidString(text) {
		return nil, errors.New("the CSV is not valid UTF-8 text")
	}
	text = strings.TrimPrefix(text, "\uFEFF")
	t := &table{}
	if o.delimiter == "" || strings.EqualFold(o.delimiter, "auto") {
		t.delimiter = detectDelimiter(text)
	} else {
		d, err := parseDelimiter(o.delimiter)
		if err != nil {
			return nil, err
		}
		t.delimiter = d
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = t.delimiter
	r.FieldsPerRecord = -1
	r.LazyQuotes = o.lazyQuotes
	r.ReuseRecord = false
	if o.comment != "" {
		c, err := parseDelimiter(o.comment)
		if err != nil || c == t.delimiter {
			return nil, fmt.Errorf("comment %q must be one character other than the delimiter", o.comment)
		}
		r.Comment = c
	}
	width := -1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(rec) == 1 && rec[0] == "" { // a blank line
			continue
		}
		if o.trimSpace {
			for i := range rec {
				rec[i] = strings.TrimSpace(rec[i])
			}
		}
		if len(rec) > maxColumns {
			return nil, fmt.Errorf("a row has %d fields; at most %d columns are supported", len(rec), maxColumns)
		}
		if width < 0 && o.header {
			t.columns = uniqueNames(rec)
			width = len(rec)
			continue
		}
		if width < 0 {
			width = len(rec)
			for i := range rec {
				t.columns = append(t.columns, fmt.Sprintf("column%d", i+1))
			}
		}
		if len(rec) != width && !o.ragged {
			line, _ := r.FieldPos(0)
			return nil, fmt.Errorf("line %d has %d fields, but the %s has %d; set ragged: true to accept rows of different lengths", line, len(rec), firstRowName(o.header), width)
		}
		for len(t.columns) < len(rec) {
			t.columns = append(t.columns, fmt.Sprintf("column%d", len(t.columns)+1))
		}
		if len(t.rows) == maxRows {
			return nil, fmt.Errorf("the CSV has more than %d rows", maxRows)
		}
		t.rows = append(t.rows, rec)
	}
	if t.columns == nil {
		return nil, errors.New("the CSV is empty")
	}
	return t, nil
}

func firstRowName(header bool) string {
	if header {
		return "header"
	}
	return "first row"
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		hint := ""
		if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
			hint = " (set lazyQuotes: true to accept stray quotes)"
		}
		return fmt.Errorf("CSV line %d, column %d: %v%s", pe.Line, pe.Column, pe.Err, hint)
	}
	return fmt.Errorf("reading the CSV: %v", err)
}

// uniqueNames turns a header row into distinct, non-empty column names.
func uniqueNames(rec []string) []string {
	seen := map[string]int{}
	out := make([]string, len(rec))
	for i, name := range rec {
		name = strings.TrimSpace(name)
		if name == "" {
			name = fmt.Sprintf("column%d", i+1)
		}
		base := name
		for seen[name] > 0 {
			seen[base]++
			name = fmt.Sprintf("%s_%d", base, seen[base])
		}
		seen[name]++
		out[i] = name
	}
	return out
}

// cell returns row's value for column index i ("" when a ragged row is short).
func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// resolveColumns maps requested column names (or 1-based positions written
// as #3) to indexes; no request means all columns.
func (t *table) resolveColumns(names []string) ([]int, error) {
	if len(names) == 0 {
		idx := make([]int, len(t.columns))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	var out []int
	for _, n := range names {
		i, err := t.columnIndex(n)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

func (t *table) columnIndex(name string) (int, error) {
	for i, c := range t.columns {
		if c == name {
			return i, nil
		}
	}
	for i, c := range t.columns {
		if strings.EqualFold(c, strings.TrimSpace(name)) {
			return i, nil
		}
	}
	if strings.HasPrefix(name, "#") {
		if n, err := strconv.Atoi(name[1:]); err == nil && n >= 1 && n <= len(t.columns) {
			return n - 1, nil
		}
	}
	shown := t.columns
	if len(shown) > 20 {
		shown = shown[:20]
	}
	return 0, fmt.Errorf("no column %q; the columns are %s (or use #1, #2... by position)", name, quoteList(shown))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// ---- filters ----

type filter struct {
	Column     string          `json:"column" description:"Column name (or #N for the Nth column)"`
	Op         string          `json:"op" enum:"eq,ne,lt,le,gt,ge,contains,not_contains,starts_with,ends_with,empty,not_empty,regex" description:"Comparison: eq ne lt le gt ge compare as numbers when both sides are numbers, else as text (lt le gt ge with a number skip cells that are not numbers); contains, starts_with, ends_with and regex (RE2) match text; empty and not_empty need no value"`
	Value      json.RawMessage `json:"value,omitempty" description:"Value to compare with: a string or a number"`
	IgnoreCase bool            `json:"ignoreCase,omitempty" description:"Compare text case-insensitively"`
}

type compiledFilter struct {
	col   int
	op    string
	value string
	num   float64
	isNum bool
	fold  bool
	re    *regexp.Regexp
}

func (t *table) compileFilters(fs []filter) ([]compiledFilter, error) {
	if len(fs) > 32 {
		return nil, errors.New("at most 32 filters are accepted")
	}
	var out []compiledFilter
	for i, f := range fs {
		col, err := t.columnIndex(f.Column)
		if err != nil {
			return nil, fmt.Errorf("where[%d]: %w", i, err)
		}
		cf := compiledFilter{col: col, op: f.Op, fold: f.IgnoreCase}
		v, hasValue, err := filterValue(f.Value)
		if err != nil {
			return nil, fmt.Errorf("where[%d]: %w", i, err)
		}
		switch f.Op {
		case "empty", "not_empty":
		case "eq", "ne", "lt", "le", "gt", "ge", "contains", "not_contains", "starts_with", "ends_with", "regex":
			if !hasValue {
				return nil, fmt.Errorf("where[%d]: op %s needs a value", i, f.Op)
			}
		default:
			return nil, fmt.Errorf("where[%d]: unknown op %q", i, f.Op)
		}
		cf.value = v
		cf.num, cf.isNum = number(v)
		if f.IgnoreCase {
			cf.value = strings.ToLower(v)
		}
		if f.Op == "regex" {
			if len(v) > 1000 {
				return nil, fmt.Errorf("where[%d]: the pattern is longer than 1000 bytes", i)
			}
			pat := v
			if f.IgnoreCase {
				pat = "(?i)" + v
			}
			if cf.re, err = regexp.Compile(pat); err != nil {
				return nil, fmt.Errorf("where[%d]: invalid pattern: %v", i, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
		}
		out = append(out, cf)
	}
	return out, nil
}

func filterValue(raw json.RawMessage) (string, bool, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return "", false, nil
	case s == "true" || s == "false":
		return s, true, nil
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", false, err
		}
		return v, true, nil
	case strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{"):
		return "", false, errors.New("value must be a string or a number")
	}
	return s, true, nil // a number, as written
}

func number(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !strings.ContainsAny(s, "xXnN_") // no hex, NaN, Inf or 1_000
}

func (f *compiledFilter) match(row []string) bool {
	c := cell(row, f.col)
	if f.op == "regex" {
		return f.re.MatchString(c)
	}
	text := c
	if f.fold {
		text = strings.ToLower(c)
	}
	switch f.op {
	case "empty":
		return strings.TrimSpace(c) == ""
	case "not_empty":
		return strings.TrimSpace(c) != ""
	case "contains":
		return strings.Contains(text, f.value)
	case "not_contains":
		return !strings.Contains(text, f.value)
	case "starts_with":
		return strings.HasPrefix(text, f.value)
	case "ends_with":
		return strings.HasSuffix(text, f.value)
	}
	cmp := 0
	n, ok := number(c)
	if f.isNum && !ok && f.op != "eq" && f.op != "ne" {
		return false // lt, le, gt, ge with a number only match numbers
	}
	if ok && f.isNum {
		switch {
		case n < f.num:
			cmp = -1
		case n > f.num:
			cmp = 1
		}
	} else {
		cmp = strings.Compare(text, f.value)
	}
	switch f.op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "lt":
		return cmp < 0
	case "le":
		return cmp <= 0
	case "gt":
		return cmp > 0
	}
	return cmp >= 0 // ge
}

// selectRows returns the rows that pass the filters (all of them, or any
// when any is set).
func selectRows(rows [][]string, fs []compiledFilter, any bool) [][]string {
	if len(fs) == 0 {
		return rows
	}
	var out [][]string
	for _, r := range rows {
		ok := !any
		for i := range fs {
			m := fs[i].match(r)
			if any && m {
				ok = true
				break
			}
			if !any && !m {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// sortRows sorts rows by a column: numerically when every non-empty value
// is a number, else as text; empty values last; stable.
func sortRows(rows [][]string, col int, desc bool) {
	type key struct {
		text  string
		num   float64
		empty bool
	}
	keys := make([]key, len(rows))
	numeric := true
	for i, r := range rows {
		c := cell(r, col)
		k := key{text: c, empty: strings.TrimSpace(c) == ""}
		if !k.empty {
			n, ok := number(c)
			k.num = n
			numeric = numeric && ok
		}
		keys[i] = k
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := keys[order[i]], keys[order[j]]
		if a.empty || b.empty {
			return !a.empty && b.empty
		}
		var less bool
		if numeric {
			if a.num == b.num {
				return false
			}
			less = a.num < b.num
		} else {
			if a.text == b.text {
				return false
			}
			less = a.text < b.text
		}
		if desc {
			return !less
		}
		return less
	})
	sorted := make([][]string, len(rows))
	for i, o := range order {
		sorted[i] = rows[o]
	}
	copy(rows, sorted)
}

// ---- type inference ----

const maxSafeInt = 1<<53 - 1

// numberSyntax reports whether s is a JSON number (no leading zeros, no
// leading +, digits on both sides of a dot) and whether it is an integer.
func numberSyntax(s string) (isNumber, isInt bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	n := digits()
	if n == 0 || n > 1 && s[start] == '0' {
		return false, false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false, false
		}
		isInt = false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false, false
		}
		isInt = false
	}
	return i == len(s), isInt && i == len(s)
}

// inferJSON turns a cell into a JSON value: null for empty, numbers (when
// written as valid JSON numbers without leading zeros; integers only
// within ±2^53), true/false, and strings for everything else.
func inferJSON(c string) json.RawMessage {
	t := strings.TrimSpace(c)
	switch {
	case t == "":
		return json.RawMessage("null")
	case strings.EqualFold(t, "true"):
		return json.RawMessage("true")
	case strings.EqualFold(t, "false"):
		return json.RawMessage("false")
	}
	if isNum, isInt := numberSyntax(t); isInt {
		if n, err := strconv.ParseInt(t, 10, 64); err == nil && n <= maxSafeInt && n >= -maxSafeInt {
			return json.RawMessage(t)
		}
	} else if isNum {
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return json.RawMessage(t)
		}
	}
	return jsonString(c)
}

func jsonString(s string) json.RawMessage {
	return jsondoc.AppendString(nil, s)
}

// kindOf names the inferred type of a cell, as inferJSON would encode it,
// for csv_inspect.
func kindOf(c string) string {
	t := strings.TrimSpace(c)
	switch {
	case t == "":
		return "empty"
	case strings.EqualFold(t, "true") || strings.EqualFold(t, "false"):
		return "boolean"
	}
	if isNum, isInt := numberSyntax(t); isInt {
		if n, err := strconv.ParseInt(t, 10, 64); err == nil && n <= maxSafeInt && n >= -maxSafeInt {
			return "integer"
		}
	} else if isNum {
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return "number"
		}
	}
	return "string"
}

// objectJSON writes one row as an object with members in column order.
func objectJSON(names []string, values []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(n))
		b.WriteByte(':')
		b.Write(values[i])
	}
	b.WriteByte('}')
	return b.Bytes()
}

func arrayJSON(values []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// writeCSV writes rows as CSV, stopping before maxBytes; it reports how
// many rows (not counting the header) it wrote.
func writeCSV(header []string, rows [][]string, delim rune, crlf bool, maxBytes int) (string, int, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = delim
	w.UseCRLF = crlf
	if header != nil {
		if err := w.Write(header); err != nil {
			return "", 0, err
		}
		w.Flush()
	}
	n := 0
	for _, r := range rows {
		mark := buf.Len()
		if err := w.Write(r); err != nil {
			return "", 0, err
		}
		w.Flush()
		if buf.Len() > maxBytes {
			buf.Truncate(mark)
			return buf.String(), n, nil
		}
		n++
	}
	w.Flush()
	return buf.String(), n, w.Error()
}
