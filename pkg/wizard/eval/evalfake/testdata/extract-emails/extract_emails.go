package main

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Text string `json:"text" description:"Text that may contain email addresses"`
}

type out struct {
	Emails []string `json:"emails"`
	Count  int      `json:"count"`
}

var email = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`)

func extract(_ context.Context, i in) (out, error) {
	seen := map[string]bool{}
	o := out{Emails: []string{}}
	for _, m := range email.FindAllString(i.Text, 1000) {
		m = strings.ToLower(m)
		if !seen[m] {
			seen[m] = true
			o.Emails = append(o.Emails, m)
		}
	}
	sort.Strings(o.Emails)
	o.Count = len(o.Emails)
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("extract_emails", "Every distinct email address in a text", extract)},
	})
}
