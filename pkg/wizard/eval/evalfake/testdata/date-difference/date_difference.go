package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	From string `json:"from" description:"Earlier date, YYYY-MM-DD"`
	To   string `json:"to" description:"Later date, YYYY-MM-DD"`
}

type out struct {
	Days   int `json:"days"`
	Weeks  int `json:"weeks"`
	Months int `json:"months"`
	Years  int `json:"years"`
}

func diff(_ context.Context, i in) (out, error) {
	a, err := time.Parse(time.DateOnly, i.From)
	if err != nil {
		return out{}, fmt.Errorf("from %q is not a date like 2026-01-31", i.From)
	}
	b, err := time.Parse(time.DateOnly, i.To)
	if err != nil {
		return out{}, fmt.Errorf("to %q is not a date like 2026-01-31", i.To)
	}
	if b.Before(a) {
		a, b = b, a
	}
	days := int(b.Sub(a).Hours() / 24)
	months := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	if b.Day() < a.Day() {
		months--
	}
	return out{Days: days, Weeks: days / 7, Months: months, Years: months / 12}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("date_difference", "Days, weeks, months and years between two dates", diff)},
	})
}
