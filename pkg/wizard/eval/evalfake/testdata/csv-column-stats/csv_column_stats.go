package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	CSV    string `json:"csv" description:"CSV text with a header row"`
	Column string `json:"column" description:"Name of the numeric column"`
}

type out struct {
	Column string  `json:"column"`
	Count  int     `json:"count"`
	Sum    float64 `json:"sum"`
	Mean   float64 `json:"mean"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func columnStats(_ context.Context, i in) (out, error) {
	records, err := csv.NewReader(strings.NewReader(i.CSV)).ReadAll()
	if err != nil {
		return out{}, fmt.Errorf("the CSV does not parse: %v", err)
	}
	if len(records) < 2 {
		return out{}, fmt.Errorf("the CSV needs a header row and at least one data row")
	}
	col := -1
	for j, h := range records[0] {
		if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(i.Column)) {
			col = j
		}
	}
	if col < 0 {
		return out{}, fmt.Errorf("no column %q; the columns are %s", i.Column, strings.Join(records[0], ", "))
	}
	o := out{Column: records[0][col], Min: math.Inf(1), Max: math.Inf(-1)}
	for n, rec := range records[1:] {
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[col]), 64)
		if err != nil {
			return out{}, fmt.Errorf("row %d: %q is not a number", n+2, rec[col])
		}
		o.Count++
		o.Sum += v
		o.Min, o.Max = math.Min(o.Min, v), math.Max(o.Max, v)
	}
	o.Mean = o.Sum / float64(o.Count)
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("csv_column_stats", "Sum, mean, min and max of a numeric CSV column", columnStats)},
	})
}
