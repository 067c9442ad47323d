package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Start string `json:"start" description:"First date, YYYY-MM-DD"`
	End   string `json:"end" description:"Last date, YYYY-MM-DD (counted)"`
}

type out struct {
	BusinessDays int `json:"business_days"`
	WeekendDays  int `json:"weekend_days"`
}

func count(_ context.Context, i in) (out, error) {
	start, err := time.Parse(time.DateOnly, i.Start)
	if err != nil {
		return out{}, fmt.Errorf("start %q is not a date like 2026-01-31", i.Start)
	}
	end, err := time.Parse(time.DateOnly, i.End)
	if err != nil {
		return out{}, fmt.Errorf("end %q is not a date like 2026-01-31", i.End)
	}
	if end.Before(start) {
		return out{}, fmt.Errorf("end is before start")
	}
	if end.Sub(start) > 100*366*24*time.Hour {
		return out{}, fmt.Errorf("the range is longer than 100 years")
	}
	var o out
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			o.WeekendDays++
		} else {
			o.BusinessDays++
		}
	}
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("business_days", "Business days between two dates, both counted", count)},
	})
}
