package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Amount float64 `json:"amount" description:"The amount to convert"`
	From   string  `json:"from" description:"ISO 4217 code of the currency to convert from, such as EUR"`
	To     string  `json:"to" description:"ISO 4217 code of the currency to convert to, such as USD"`
}

type out struct {
	Amount    float64 `json:"amount"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	Converted float64 `json:"converted"`
	Rate      float64 `json:"rate"`
	Date      string  `json:"date"`
}

func convert(ctx context.Context, i in) (out, error) {
	from, to := strings.ToUpper(strings.TrimSpace(i.From)), strings.ToUpper(strings.TrimSpace(i.To))
	if len(from) != 3 || len(to) != 3 {
		return out{}, fmt.Errorf("currencies are three-letter ISO codes such as EUR and USD")
	}
	if i.Amount <= 0 {
		return out{}, fmt.Errorf("amount must be positive")
	}
	var r struct {
		Date  string             `json:"date"`
		Rates map[string]float64 `json:"rates"`
	}
	u := "http://{{UPSTREAM}}/latest?from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)
	if err := kiln.GetJSON(ctx, u, nil, &r); err != nil {
		return out{}, err
	}
	rate, ok := r.Rates[to]
	if !ok {
		return out{}, fmt.Errorf("no rate from %s to %s", from, to)
	}
	return out{Amount: i.Amount, From: from, To: to, Converted: math.Round(i.Amount*rate*100) / 100, Rate: rate, Date: r.Date}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools:  []kiln.Tool{kiln.NewTool("convert_currency", "Convert an amount between currencies at today's rate", convert)},
		Egress: []string{"http://{{UPSTREAM}}"},
	})
}
