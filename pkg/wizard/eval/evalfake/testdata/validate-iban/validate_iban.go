package main

import (
	"context"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	IBAN string `json:"iban" description:"An IBAN, spaces allowed"`
}

type out struct {
	Valid   bool   `json:"valid"`
	Country string `json:"country"`
	IBAN    string `json:"iban"`
	Reason  string `json:"reason,omitempty"`
}

func validate(_ context.Context, i in) (out, error) {
	s := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(i.IBAN), " ", ""))
	o := out{IBAN: s}
	if len(s) < 15 || len(s) > 34 {
		o.Reason = "an IBAN has 15 to 34 characters"
		return o, nil
	}
	o.Country = s[:2]
	rearranged := s[4:] + s[:4]
	rem := 0
	for _, r := range rearranged {
		var v int
		switch {
		case r >= '0' && r <= '9':
			v = int(r - '0')
			rem = (rem*10 + v) % 97
		case r >= 'A' && r <= 'Z':
			v = int(r-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			o.Reason = "an IBAN has only letters and digits"
			return o, nil
		}
	}
	o.Valid = rem == 1
	if !o.Valid {
		o.Reason = "the check digits do not match"
	}
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("validate_iban", "Whether an IBAN is valid, and its country", validate)},
	})
}
