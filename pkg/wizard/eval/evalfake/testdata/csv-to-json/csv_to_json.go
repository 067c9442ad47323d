package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	CSV string `json:"csv" description:"CSV text with a header row"`
}

type out struct {
	Rows  []map[string]string `json:"rows"`
	Count int                 `json:"count"`
}

func convert(_ context.Context, i in) (out, error) {
	r := csv.NewReader(strings.NewReader(i.CSV))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		return out{}, fmt.Errorf("the CSV does not parse: %v", err)
	}
	if len(records) == 0 {
		return out{}, fmt.Errorf("the CSV has no header row")
	}
	header := records[0]
	o := out{Rows: []map[string]string{}}
	for _, rec := range records[1:] {
		row := map[string]string{}
		for j, h := range header {
			if j < len(rec) {
				row[h] = rec[j]
			}
		}
		o.Rows = append(o.Rows, row)
	}
	o.Count = len(o.Rows)
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("csv_to_json", "CSV rows as JSON objects keyed by the header", convert)},
	})
}
