package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Duration string `json:"duration" description:"A duration such as 1h30m, 90m or 2h15m30s"`
}

type out struct {
	Seconds float64 `json:"seconds"`
	Minutes float64 `json:"minutes"`
	Human   string  `json:"human"`
}

func parse(_ context.Context, i in) (out, error) {
	d, err := time.ParseDuration(strings.ReplaceAll(strings.TrimSpace(i.Duration), " ", ""))
	if err != nil {
		return out{}, fmt.Errorf("%q is not a duration like 1h30m", i.Duration)
	}
	return out{Seconds: d.Seconds(), Minutes: d.Minutes(), Human: d.String()}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("parse_duration", "A written duration in seconds and minutes", parse)},
	})
}
