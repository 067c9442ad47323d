package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Symbol string `json:"symbol" description:"Stock ticker symbol, such as IBM"`
}

type out struct {
	Symbol        string  `json:"symbol"`
	Price         float64 `json:"price"`
	Change        float64 `json:"change"`
	ChangePercent string  `json:"change_percent"`
}

func quote(ctx context.Context, i in) (out, error) {
	sym := strings.ToUpper(strings.TrimSpace(i.Symbol))
	if sym == "" {
		return out{}, fmt.Errorf("symbol is empty; give a ticker such as IBM")
	}
	var r struct {
		Quote map[string]string `json:"Global Quote"`
		Note  string            `json:"Information"`
	}
	u := "http://{{UPSTREAM}}/query?function=GLOBAL_QUOTE&symbol=" + url.QueryEscape(sym) + "&apikey=" + kiln.Secret("ALPHAVANTAGE_KEY")
	if err := kiln.GetJSON(ctx, u, nil, &r); err != nil {
		return out{}, err
	}
	if len(r.Quote) == 0 {
		return out{}, fmt.Errorf("no quote for %s: %s", sym, r.Note)
	}
	price, err := strconv.ParseFloat(r.Quote["05. price"], 64)
	if err != nil {
		return out{}, fmt.Errorf("the quote has no price")
	}
	change, _ := strconv.ParseFloat(r.Quote["09. change"], 64)
	return out{Symbol: sym, Price: price, Change: change, ChangePercent: r.Quote["10. change percent"]}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools:  []kiln.Tool{kiln.NewTool("stock_quote", "Latest price and change of a stock", quote)},
		Egress: []string{"http://{{UPSTREAM}}"},
		Env:    []kiln.EnvVar{{Name: "ALPHAVANTAGE_KEY", Description: "Your Alpha Vantage API key", Required: true, Secret: true}},
	})
}
