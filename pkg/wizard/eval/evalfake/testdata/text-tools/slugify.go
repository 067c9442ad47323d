package main

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Title string `json:"title" description:"The title to turn into a slug"`
}

type out struct {
	Slug string `json:"slug"`
}

func slugify(_ context.Context, i in) (out, error) {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(i.Title) {
		switch {
		case (unicode.IsLetter(r) || unicode.IsDigit(r)) && r < unicode.MaxASCII:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.TrimSuffix(b.String(), "-")
	if slug == "" {
		return out{}, fmt.Errorf("the title has no letters or digits to make a slug of")
	}
	return out{Slug: slug}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("slugify", "Turn a title into a URL slug", slugify)},
	})
}
