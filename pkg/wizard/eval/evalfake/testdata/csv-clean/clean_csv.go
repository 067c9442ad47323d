package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"unicode"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	CSV string `json:"csv" description:"The CSV export, header row first"`
}

type out struct {
	CSV     string   `json:"csv"`
	Header  []string `json:"header"`
	RowsIn  int      `json:"rows_in"`
	RowsOut int      `json:"rows_out"`
}

func snake(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

func clean(_ context.Context, i in) (out, error) {
	r := csv.NewReader(strings.NewReader(i.CSV))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return out{}, fmt.Errorf("the CSV does not parse: %v", err)
	}
	if len(rows) == 0 {
		return out{}, fmt.Errorf("the CSV is empty")
	}
	o := out{RowsIn: len(rows) - 1}
	for _, h := range rows[0] {
		o.Header = append(o.Header, snake(h))
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(o.Header)
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		empty := true
		for j := range row {
			row[j] = strings.TrimSpace(row[j])
			empty = empty && row[j] == ""
		}
		key := strings.Join(row, "\x00")
		if empty || seen[key] {
			continue
		}
		seen[key] = true
		_ = w.Write(row)
		o.RowsOut++
	}
	w.Flush()
	o.CSV = buf.String()
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("clean_csv", "Trim cells, drop empty and duplicate rows, snake_case the header", clean)},
	})
}
