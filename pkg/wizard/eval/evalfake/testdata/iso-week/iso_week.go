package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Date string `json:"date" description:"A date, YYYY-MM-DD"`
}

type out struct {
	Year      int    `json:"iso_year"`
	Week      int    `json:"iso_week"`
	Weekday   string `json:"weekday"`
	DayOfYear int    `json:"day_of_year"`
}

func week(_ context.Context, i in) (out, error) {
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(i.Date))
	if err != nil {
		return out{}, fmt.Errorf("date %q is not like 2026-01-31", i.Date)
	}
	y, w := d.ISOWeek()
	return out{Year: y, Week: w, Weekday: d.Weekday().String(), DayOfYear: d.YearDay()}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("iso_week", "ISO week, weekday and day of year of a date", week)},
	})
}
