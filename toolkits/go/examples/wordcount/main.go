// Command wordcount is an example tool module: text statistics.
package main

import (
	"context"
	"sort"
	"strings"
	"unicode"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type statsIn struct {
	Text string `json:"text" description:"The text to analyse"`
	Top  int    `json:"top,omitempty" description:"How many of the most frequent words to list (default 5)"`
}

type wordCount struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

type statsOut struct {
	Words      int         `json:"words" description:"Number of words"`
	Lines      int         `json:"lines" description:"Number of lines"`
	Characters int         `json:"characters" description:"Number of Unicode characters"`
	TopWords   []wordCount `json:"topWords" description:"Most frequent words, lower-cased"`
}

func stats(_ context.Context, in statsIn) (statsOut, error) {
	top := in.Top
	if top <= 0 {
		top = 5
	}
	words := strings.FieldsFunc(in.Text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '\'' })
	counts := map[string]int{}
	for _, w := range words {
		counts[strings.ToLower(w)]++
	}
	list := make([]wordCount, 0, len(counts))
	for w, c := range counts {
		list = append(list, wordCount{w, c})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Count != list[j].Count {
			return list[i].Count > list[j].Count
		}
		return list[i].Word < list[j].Word
	})
	if len(list) > top {
		list = list[:top]
	}
	lines := 0
	if in.Text != "" {
		lines = strings.Count(in.Text, "\n") + 1
	}
	return statsOut{Words: len(words), Lines: lines, Characters: len([]rune(in.Text)), TopWords: list}, nil
}

type caseIn struct {
	Text string `json:"text" description:"The text to convert"`
	To   string `json:"to" enum:"upper,lower,title" description:"Target case"`
}

func convertCase(_ context.Context, in caseIn) (string, error) {
	switch in.To {
	case "upper":
		return strings.ToUpper(in.Text), nil
	case "lower":
		return strings.ToLower(in.Text), nil
	}
	words := strings.Fields(in.Text)
	for i, w := range words {
		r := []rune(strings.ToLower(w))
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " "), nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("text_stats", "Counts words, lines and characters and lists the most frequent words", stats),
		kiln.NewTool("convert_case", "Converts text to upper, lower or title case", convertCase),
	}})
}
