// Command csvjson is a curated Kiln library module: CSV to JSON and back,
// with column selection, row filters, sorting and a column summary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kilnhq/kiln/toolkits/go/jsondoc"
	"sort"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// readArgs are the CSV reading options the tools share.
type readArgs struct {
	Delimiter  string `json:"delimiter,omitempty" description:"Field delimiter: one character, or tab; default: detected from , ; tab |"`
	Header     *bool  `json:"header,omitempty" description:"Whether the first row names the columns (default true); without it columns are column1, column2..."`
	Ragged     bool   `json:"ragged,omitempty" description:"Accept rows with fewer or more fields than the first (short rows are padded with empty cells)"`
	LazyQuotes bool   `json:"lazyQuotes,omitempty" description:"Accept stray quotes inside fields"`
	TrimSpace  bool   `json:"trimSpace,omitempty" description:"Trim white space around every field"`
	Comment    string `json:"comment,omitempty" description:"Skip lines starting with this character, such as #"`
}

func (a readArgs) options() readOptions {
	return readOptions{
		delimiter: a.Delimiter, header: a.Header == nil || *a.Header, ragged: a.Ragged,
		lazyQuotes: a.LazyQuotes, trimSpace: a.TrimSpace, comment: a.Comment,
	}
}

func window(offset, limit, n int) (int, int, error) {
	if offset < 0 {
		return 0, 0, errors.New("offset must not be negative")
	}
	switch {
	case limit == 0:
		limit = defaultLimit
	case limit < 0 || limit > maxLimit:
		return 0, 0, fmt.Errorf("limit must be between 1 and %d", maxLimit)
	}
	start := min(offset, n)
	return start, min(start+limit, n), nil
}

// ---- csv_to_json ----

type toJSONIn struct {
	CSV         string   `json:"csv" description:"The CSV text (at most 4 MiB)"`
	Columns     []string `json:"columns,omitempty" description:"Columns to keep, in this order, by name or as #N (default all)"`
	Where       []filter `json:"where,omitempty" description:"Keep only rows matching these conditions"`
	MatchAny    bool     `json:"matchAny,omitempty" description:"Keep rows matching any condition instead of all"`
	InferTypes  *bool    `json:"inferTypes,omitempty" description:"Turn numbers, true/false and empty cells into JSON numbers, booleans and null (default true); values with leading zeros such as 007 stay strings"`
	Format      string   `json:"format,omitempty" enum:"objects,arrays" description:"objects (default): one object per row; arrays: one array per row, in the order of columns"`
	Offset      int      `json:"offset,omitempty" description:"Skip this many matching rows"`
	Limit       int      `json:"limit,omitempty" description:"Most rows to return (default 1000, at most 100000)"`
	ReadOptions readArgs `json:"options,omitempty" description:"How to read the CSV"`
}

type toJSONOut struct {
	Columns   []string          `json:"columns" description:"Column names of the rows"`
	Rows      []json.RawMessage `json:"rows" description:"The rows, as objects or arrays"`
	RowCount  int               `json:"rowCount" description:"Rows returned"`
	Matched   int               `json:"matched" description:"Rows that matched the filters (all rows without filters)"`
	Truncated bool              `json:"truncated,omitempty" description:"True when limit or the 256 KiB output cap left rows out; use offset to page"`
	Delimiter string            `json:"delimiter" description:"The delimiter used"`
}

func csvToJSON(_ context.Context, in toJSONIn) (toJSONOut, error) {
	t, err := readTable(in.CSV, in.ReadOptions.options())
	if err != nil {
		return toJSONOut{}, err
	}
	cols, err := t.resolveColumns(in.Columns)
	if err != nil {
		return toJSONOut{}, err
	}
	fs, err := t.compileFilters(in.Where)
	if err != nil {
		return toJSONOut{}, err
	}
	switch in.Format {
	case "", "objects", "arrays":
	default:
		return toJSONOut{}, fmt.Errorf("unknown format %q: use objects or arrays", in.Format)
	}
	rows := selectRows(t.rows, fs, in.MatchAny)
	start, end, err := window(in.Offset, in.Limit, len(rows))
	if err != nil {
		return toJSONOut{}, err
	}
	infer := in.InferTypes == nil || *in.InferTypes
	out := toJSONOut{Rows: []json.RawMessage{}, Matched: len(rows), Delimiter: string(t.delimiter)}
	for _, c := range cols {
		out.Columns = append(out.Columns, t.columns[c])
	}
	size := 0
	for _, r := range rows[start:end] {
		vals := make([]json.RawMessage, len(cols))
		for i, c := range cols {
			if infer {
				vals[i] = inferJSON(cell(r, c))
			} else {
				vals[i] = jsonString(cell(r, c))
			}
		}
		var row json.RawMessage
		if in.Format == "arrays" {
			row = arrayJSON(vals)
		} else {
			row = objectJSON(out.Columns, vals)
		}
		if size += len(row) + 1; size > maxOutputBytes {
			out.Truncated = true
			break
		}
		out.Rows = append(out.Rows, row)
	}
	out.RowCount = len(out.Rows)
	if start+out.RowCount < len(rows) {
		out.Truncated = true
	}
	return out, nil
}

// ---- json_to_csv ----

type toCSVIn struct {
	Data           json.RawMessage `json:"data,omitempty" description:"The rows: an array of objects (or of arrays), or one object. Give this or dataText."`
	DataText       string          `json:"dataText,omitempty" description:"The same as JSON text, for JSON held as a string"`
	Columns        []string        `json:"columns,omitempty" description:"Columns to write, in this order (default: every key, in first-seen order); with arrays, the header to write"`
	Delimiter      string          `json:"delimiter,omitempty" description:"Field delimiter: one character, or tab (default ,)"`
	Header         *bool           `json:"header,omitempty" description:"Write a header row (default true)"`
	Flatten        bool            `json:"flatten,omitempty" description:"Write nested objects as dotted columns (address.city) instead of JSON text"`
	EscapeFormulas bool            `json:"escapeFormulas,omitempty" description:"Prefix text cells starting with = + - @ with ' so spreadsheets do not run them as formulas"`
	CRLF           bool            `json:"crlf,omitempty" description:"End lines with CRLF (RFC 4180) instead of LF"`
}

type toCSVOut struct {
	CSV       string   `json:"csv" description:"The CSV text"`
	Columns   []string `json:"columns" description:"Columns written"`
	RowCount  int      `json:"rowCount" description:"Rows written, not counting the header"`
	Truncated bool     `json:"truncated,omitempty" description:"True when the 256 KiB output cap left rows out"`
}

func jsonToCSV(_ context.Context, in toCSVIn) (toCSVOut, error) {
	var data []byte
	switch {
	case len(in.Data) > 0 && in.DataText != "":
		return toCSVOut{}, errors.New("give either data or dataText, not both")
	case len(in.Data) > 0:
		data = in.Data
	case in.DataText != "":
		data = []byte(in.DataText)
	default:
		return toCSVOut{}, errors.New("data (JSON rows) or dataText (JSON as a string) is required")
	}
	if len(data) > maxInputBytes {
		return toCSVOut{}, fmt.Errorf("the JSON is %d bytes; at most %d MiB are accepted", len(data), maxInputBytes>>20)
	}
	doc, err := jsondoc.Decode(data)
	if err != nil {
		return toCSVOut{}, fmt.Errorf("data is %v", err)
	}
	delim := ','
	if in.Delimiter != "" {
		if delim, err = parseDelimiter(in.Delimiter); err != nil {
			return toCSVOut{}, err
		}
	}
	var items []any
	switch v := doc.(type) {
	case []any:
		items = v
	case *jsondoc.Object:
		items = []any{v}
	default:
		return toCSVOut{}, errors.New("data must be an array of objects, an array of arrays, or an object")
	}
	if len(items) > maxRows {
		return toCSVOut{}, fmt.Errorf("data has %d rows; at most %d are accepted", len(items), maxRows)
	}
	var header []string
	var rows [][]string
	arrays := len(items) > 0
	for _, it := range items {
		if _, ok := it.([]any); !ok {
			arrays = false
		}
	}
	if arrays {
		header = in.Columns
		for _, it := range items {
			var row []string
			for _, v := range it.([]any) {
				row = append(row, cellText(v, in.EscapeFormulas))
			}
			rows = append(rows, row)
		}
	} else {
		flat := make([]*jsondoc.Object, len(items))
		seen := map[string]bool{}
		var keys []string
		for i, it := range items {
			obj, ok := it.(*jsondoc.Object)
			if !ok {
				return toCSVOut{}, fmt.Errorf("data[%d] is not an object: mix objects and arrays is not supported", i)
			}
			if in.Flatten {
				obj = flatten(obj)
			}
			flat[i] = obj
			for _, k := range obj.Keys {
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
		header = keys
		if len(in.Columns) > 0 {
			header = in.Columns
		}
		if len(header) > maxColumns {
			return toCSVOut{}, fmt.Errorf("%d columns; at most %d are supported", len(header), maxColumns)
		}
		for _, obj := range flat {
			row := make([]string, len(header))
			for j, k := range header {
				v, _ := obj.Get(k)
				row[j] = cellText(v, in.EscapeFormulas)
			}
			rows = append(rows, row)
		}
	}
	out := toCSVOut{Columns: header}
	if out.Columns == nil {
		out.Columns = []string{}
	}
	writeHeader := header
	if in.Header != nil && !*in.Header {
		writeHeader = nil
	}
	text, n, err := writeCSV(writeHeader, rows, delim, in.CRLF, maxOutputBytes)
	if err != nil {
		return toCSVOut{}, fmt.Errorf("writing CSV: %w", err)
	}
	out.CSV, out.RowCount, out.Truncated = text, n, n < len(rows)
	return out, nil
}

// cellText writes a JSON value as a CSV cell.
func cellText(v any, escapeFormulas bool) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if escapeFormulas && x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return x.String()
	}
	return string(jsondoc.Append(nil, v))
}

// flatten turns nested objects into dotted keys; arrays stay values.
func flatten(o *jsondoc.Object) *jsondoc.Object {
	out := &jsondoc.Object{}
	var walk func(prefix string, o *jsondoc.Object)
	walk = func(prefix string, o *jsondoc.Object) {
		for i, k := range o.Keys {
			v := o.Values[i]
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			if sub, ok := v.(*jsondoc.Object); ok && len(sub.Keys) > 0 {
				walk(name, sub)
				continue
			}
			out.Set(name, v)
		}
	}
	walk("", o)
	return out
}

// ---- csv_select ----

type selectIn struct {
	CSV             string   `json:"csv" description:"The CSV text (at most 4 MiB)"`
	Columns         []string `json:"columns,omitempty" description:"Columns to keep, in this order, by name or as #N (default all)"`
	Where           []filter `json:"where,omitempty" description:"Keep only rows matching these conditions"`
	MatchAny        bool     `json:"matchAny,omitempty" description:"Keep rows matching any condition instead of all"`
	SortBy          string   `json:"sortBy,omitempty" description:"Column to sort by (numbers sort numerically; empty cells last)"`
	Descending      bool     `json:"descending,omitempty" description:"Sort from largest to smallest"`
	Offset          int      `json:"offset,omitempty" description:"Skip this many rows (after filtering and sorting)"`
	Limit           int      `json:"limit,omitempty" description:"Most rows to return (default 1000, at most 100000)"`
	OutputDelimiter string   `json:"outputDelimiter,omitempty" description:"Delimiter of the result (default: the input's)"`
	ReadOptions     readArgs `json:"options,omitempty" description:"How to read the CSV"`
}

type selectOut struct {
	CSV       string   `json:"csv" description:"The selected rows as CSV, with a header row when the input had one"`
	Columns   []string `json:"columns" description:"Columns of the result"`
	RowCount  int      `json:"rowCount" description:"Rows in the result"`
	Matched   int      `json:"matched" description:"Rows that matched the filters"`
	Truncated bool     `json:"truncated,omitempty" description:"True when limit or the 256 KiB output cap left rows out"`
}

func csvSelect(_ context.Context, in selectIn) (selectOut, error) {
	opts := in.ReadOptions.options()
	t, err := readTable(in.CSV, opts)
	if err != nil {
		return selectOut{}, err
	}
	cols, err := t.resolveColumns(in.Columns)
	if err != nil {
		return selectOut{}, err
	}
	fs, err := t.compileFilters(in.Where)
	if err != nil {
		return selectOut{}, err
	}
	rows := selectRows(t.rows, fs, in.MatchAny)
	if in.SortBy != "" {
		col, err := t.columnIndex(in.SortBy)
		if err != nil {
			return selectOut{}, fmt.Errorf("sortBy: %w", err)
		}
		sortRows(rows, col, in.Descending)
	}
	start, end, err := window(in.Offset, in.Limit, len(rows))
	if err != nil {
		return selectOut{}, err
	}
	delim := t.delimiter
	if in.OutputDelimiter != "" {
		if delim, err = parseDelimiter(in.OutputDelimiter); err != nil {
			return selectOut{}, fmt.Errorf("outputDelimiter: %w", err)
		}
	}
	out := selectOut{Matched: len(rows)}
	for _, c := range cols {
		out.Columns = append(out.Columns, t.columns[c])
	}
	picked := make([][]string, 0, end-start)
	for _, r := range rows[start:end] {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = cell(r, c)
		}
		picked = append(picked, row)
	}
	var header []string
	if opts.header {
		header = out.Columns
	}
	text, n, err := writeCSV(header, picked, delim, false, maxOutputBytes)
	if err != nil {
		return selectOut{}, fmt.Errorf("writing CSV: %w", err)
	}
	out.CSV, out.RowCount = text, n
	out.Truncated = start+n < len(rows)
	return out, nil
}

// ---- csv_inspect ----

type inspectIn struct {
	CSV         string   `json:"csv" description:"The CSV text (at most 4 MiB)"`
	ReadOptions readArgs `json:"options,omitempty" description:"How to read the CSV"`
}

type columnSummary struct {
	Name     string   `json:"name" description:"Column name"`
	Position int      `json:"position" description:"1-based position (#N)"`
	Type     string   `json:"type" description:"Inferred type: integer, number, boolean, string, empty, or mixed"`
	Types    []string `json:"types,omitempty" description:"The types seen, for mixed columns"`
	NonEmpty int      `json:"nonEmpty" description:"Cells that are not empty"`
	Distinct int      `json:"distinct" description:"Distinct values (counted up to 10000)"`
	Min      string   `json:"min,omitempty" description:"Smallest value (numeric columns compare as numbers)"`
	Max      string   `json:"max,omitempty" description:"Largest value"`
	Examples []string `json:"examples" description:"Up to 3 distinct example values"`
}

type inspectOut struct {
	Delimiter string          `json:"delimiter" description:"The delimiter used"`
	Rows      int             `json:"rows" description:"Data rows (not counting the header)"`
	Columns   []columnSummary `json:"columns" description:"One summary per column"`
}

func csvInspect(_ context.Context, in inspectIn) (inspectOut, error) {
	t, err := readTable(in.CSV, in.ReadOptions.options())
	if err != nil {
		return inspectOut{}, err
	}
	out := inspectOut{Delimiter: string(t.delimiter), Rows: len(t.rows)}
	for i, name := range t.columns {
		s := columnSummary{Name: name, Position: i + 1, Examples: []string{}}
		kinds := map[string]bool{}
		distinct := map[string]bool{}
		var minN, maxN float64
		var minS, maxS string
		numeric, first := true, true
		for _, r := range t.rows {
			c := cell(r, i)
			k := kindOf(c)
			if k == "empty" {
				continue
			}
			kinds[k] = true
			s.NonEmpty++
			if len(distinct) < 10000 && !distinct[c] {
				distinct[c] = true
				if len(s.Examples) < 3 {
					s.Examples = append(s.Examples, truncate(c, 80))
				}
			}
			n, isNum := number(c)
			if !isNum || k == "string" {
				numeric = false
			}
			if first {
				minN, maxN, minS, maxS, first = n, n, c, c, false
				continue
			}
			if isNum && n < minN {
				minN = n
			}
			if isNum && n > maxN {
				maxN = n
			}
			if c < minS {
				minS = c
			}
			if c > maxS {
				maxS = c
			}
		}
		s.Distinct = len(distinct)
		switch {
		case len(kinds) == 0:
			s.Type = "empty"
		case len(kinds) == 1:
			for k := range kinds {
				s.Type = k
			}
		case len(kinds) == 2 && kinds["integer"] && kinds["number"]:
			s.Type = "number"
		default:
			s.Type = "mixed"
			for k := range kinds {
				s.Types = append(s.Types, k)
			}
			sort.Strings(s.Types)
		}
		if !first {
			if numeric {
				s.Min, s.Max = fmt.Sprint(minN), fmt.Sprint(maxN)
			} else {
				s.Min, s.Max = truncate(minS, 80), truncate(maxS, 80)
			}
		}
		out.Columns = append(out.Columns, s)
	}
	return out, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("csv_to_json", "Converts CSV to JSON rows (objects or arrays), with type inference, column selection and row filters", csvToJSON),
		kiln.NewTool("json_to_csv", "Converts JSON rows (an array of objects or arrays) to CSV, optionally flattening nested objects", jsonToCSV),
		kiln.NewTool("csv_select", "Selects columns and filters, sorts and pages the rows of a CSV, returning CSV", csvSelect),
		kiln.NewTool("csv_inspect", "Summarizes a CSV: delimiter, row count, and per column its type, empties, distinct values, min/max and examples", csvInspect),
	}})
}
