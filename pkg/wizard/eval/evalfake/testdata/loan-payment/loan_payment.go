package main

import (
	"context"
	"fmt"
	"math"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Principal  float64 `json:"principal" description:"The amount borrowed"`
	AnnualRate float64 `json:"annual_rate_percent" description:"Yearly interest rate in percent, such as 4.5"`
	Years      int     `json:"years" description:"Term of the loan in years"`
}

type out struct {
	MonthlyPayment float64 `json:"monthly_payment"`
	TotalPaid      float64 `json:"total_paid"`
	TotalInterest  float64 `json:"total_interest"`
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func payment(_ context.Context, i in) (out, error) {
	if i.Principal <= 0 || i.Years <= 0 || i.Years > 100 || i.AnnualRate < 0 {
		return out{}, fmt.Errorf("principal and years must be positive (years at most 100), the rate not negative")
	}
	n := float64(i.Years * 12)
	r := i.AnnualRate / 100 / 12
	m := i.Principal / n
	if r > 0 {
		m = i.Principal * r / (1 - math.Pow(1+r, -n))
	}
	return out{MonthlyPayment: round2(m), TotalPaid: round2(m * n), TotalInterest: round2(m*n - i.Principal)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("loan_payment", "Monthly payment and total interest of a fixed-rate loan", payment)},
	})
}
