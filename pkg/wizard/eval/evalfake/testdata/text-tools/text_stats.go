package main

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Text string `json:"text" description:"The text to measure"`
}

type out struct {
	Words          int `json:"words"`
	Sentences      int `json:"sentences"`
	Characters     int `json:"characters"`
	ReadingSeconds int `json:"reading_seconds"`
}

func stats(_ context.Context, i in) (out, error) {
	words := len(strings.Fields(i.Text))
	sentences := 0
	for _, part := range strings.FieldsFunc(i.Text, func(r rune) bool { return r == '.' || r == '!' || r == '?' }) {
		if strings.TrimSpace(part) != "" {
			sentences++
		}
	}
	return out{Words: words, Sentences: sentences, Characters: utf8.RuneCountInString(i.Text), ReadingSeconds: (words*60 + 237) / 238}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("text_stats", "Words, sentences, characters and reading time of a text", stats)},
	})
}
