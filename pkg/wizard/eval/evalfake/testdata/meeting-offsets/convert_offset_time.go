package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Time       string `json:"time" description:"Local date and time, such as 2026-03-14 15:30"`
	FromOffset string `json:"from_offset" description:"UTC offset of the time given, such as +01:00"`
	ToOffset   string `json:"to_offset" description:"UTC offset to convert to, such as -05:00"`
}

type out struct {
	Time string `json:"time"`
	UTC  string `json:"utc"`
}

func offset(s string) (*time.Location, error) {
	t, err := time.Parse("-07:00", strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("offset %q is not like +01:00 or -05:30", s)
	}
	_, secs := t.Zone()
	return time.FixedZone(s, secs), nil
}

func convert(_ context.Context, i in) (out, error) {
	from, err := offset(i.FromOffset)
	if err != nil {
		return out{}, err
	}
	to, err := offset(i.ToOffset)
	if err != nil {
		return out{}, err
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(i.Time), from)
	if err != nil {
		return out{}, fmt.Errorf("time %q is not like 2026-03-14 15:30", i.Time)
	}
	return out{Time: t.In(to).Format("2006-01-02 15:04 -07:00"), UTC: t.UTC().Format(time.RFC3339)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("convert_offset_time", "Convert a local time between UTC offsets", convert)},
	})
}
