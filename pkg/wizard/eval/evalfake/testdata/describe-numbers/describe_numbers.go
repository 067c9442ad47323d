package main

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Numbers []float64 `json:"numbers" description:"The numbers, at least one"`
}

type out struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	StdDev float64 `json:"stddev"`
	P90    float64 `json:"p90"`
}

func percentile(sorted []float64, p float64) float64 {
	pos := p * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

func describe(_ context.Context, i in) (out, error) {
	n := len(i.Numbers)
	if n == 0 || n > 100000 {
		return out{}, fmt.Errorf("give between 1 and 100000 numbers")
	}
	s := slices.Clone(i.Numbers)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	mean := sum / float64(n)
	ss := 0.0
	for _, x := range s {
		ss += (x - mean) * (x - mean)
	}
	return out{Count: n, Mean: mean, Median: percentile(s, 0.5), StdDev: math.Sqrt(ss / float64(n)), P90: percentile(s, 0.9)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("describe_numbers", "Mean, median, standard deviation and 90th percentile", describe)},
	})
}
