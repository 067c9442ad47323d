package main

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Value float64 `json:"value" description:"The quantity to convert"`
	From  string  `json:"from" description:"Unit to convert from: mm, cm, m, km, in, ft, yd, mi, g, kg, oz, lb"`
	To    string  `json:"to" description:"Unit to convert to (same kind as from)"`
}

type out struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

type unit struct {
	kind   string
	factor float64 // in metres or grams
}

var units = map[string]unit{
	"mm": {"length", 0.001}, "cm": {"length", 0.01}, "m": {"length", 1}, "km": {"length", 1000},
	"in": {"length", 0.0254}, "ft": {"length", 0.3048}, "yd": {"length", 0.9144}, "mi": {"length", 1609.344},
	"g": {"mass", 1}, "kg": {"mass", 1000}, "oz": {"mass", 28.349523125}, "lb": {"mass", 453.59237},
}

func convert(_ context.Context, i in) (out, error) {
	f, ok := units[strings.ToLower(i.From)]
	t, ok2 := units[strings.ToLower(i.To)]
	if !ok || !ok2 {
		return out{}, fmt.Errorf("units must be one of mm, cm, m, km, in, ft, yd, mi, g, kg, oz, lb")
	}
	if f.kind != t.kind {
		return out{}, fmt.Errorf("cannot convert %s (%s) to %s (%s)", i.From, f.kind, i.To, t.kind)
	}
	v := i.Value * f.factor / t.factor
	return out{Value: math.Round(v*1e6) / 1e6, Unit: strings.ToLower(i.To)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("convert_length_weight", "Convert a length or weight between metric and imperial units", convert)},
	})
}
