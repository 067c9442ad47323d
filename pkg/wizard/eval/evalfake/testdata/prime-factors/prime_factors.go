package main

import (
	"context"
	"fmt"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	N int64 `json:"n" description:"A whole number from 2 to 10^15"`
}

type out struct {
	Factors []int64 `json:"factors"`
	Prime   bool    `json:"prime"`
}

func factor(_ context.Context, i in) (out, error) {
	n := i.N
	if n < 2 || n > 1_000_000_000_000_000 {
		return out{}, fmt.Errorf("n must be between 2 and 10^15, not %d", n)
	}
	o := out{Factors: []int64{}}
	for p := int64(2); p*p <= n; p++ {
		for n%p == 0 {
			o.Factors = append(o.Factors, p)
			n /= p
		}
	}
	if n > 1 {
		o.Factors = append(o.Factors, n)
	}
	o.Prime = len(o.Factors) == 1
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("prime_factors", "Prime factors of a number, and whether it is prime", factor)},
	})
}
