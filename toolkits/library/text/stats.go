package main

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

type wordFreq struct {
	Word  string `json:"word" description:"The word, lower-cased"`
	Count int    `json:"count" description:"How often it occurs"`
}

type textStats struct {
	Words              int        `json:"words" description:"Number of words (each CJK character counts as one word)"`
	UniqueWords        int        `json:"uniqueWords" description:"Number of distinct words, ignoring case"`
	Characters         int        `json:"characters" description:"Number of Unicode characters (code points)"`
	CharactersNoSpaces int        `json:"charactersNoSpaces" description:"Characters that are not white space"`
	Bytes              int        `json:"bytes" description:"Length in UTF-8 bytes"`
	Lines              int        `json:"lines" description:"Number of lines (a final newline does not start a new line)"`
	NonEmptyLines      int        `json:"nonEmptyLines" description:"Lines with something other than white space"`
	Sentences          int        `json:"sentences" description:"Approximate number of sentences"`
	Paragraphs         int        `json:"paragraphs" description:"Blocks of text separated by blank lines"`
	AverageWordLength  float64    `json:"averageWordLength" description:"Mean characters per word, rounded to 2 decimals"`
	ReadingMinutes     float64    `json:"readingMinutes" description:"Reading time at 200 words a minute, rounded to 1 decimal"`
	TopWords           []wordFreq `json:"topWords,omitempty" description:"Most frequent words, when top > 0"`
}

// cjk reports characters that are written without spaces between words;
// each counts as a word of its own.
func cjk(r rune) bool {
	// Korean (Hangul) separates words with spaces, so it is not listed.
	if r < 0x0E00 { // below Thai: none of these scripts (a fast path)
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

func wordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
}

// words splits text into words: runs of letters, digits and marks, with
// apostrophes and hyphens inside a word (don't, well-known) kept. Each CJK
// character is a word.
func words(text string) []string {
	var out []string
	rs := []rune(text)
	for i := 0; i < len(rs); {
		r := rs[i]
		if cjk(r) {
			out = append(out, string(r))
			i++
			continue
		}
		if !wordRune(r) {
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && !cjk(rs[j]) {
			if wordRune(rs[j]) {
				j++
				continue
			}
			joiner := rs[j] == '\'' || rs[j] == '’' || rs[j] == '-' || rs[j] == '‐'
			if joiner && j+1 < len(rs) && wordRune(rs[j+1]) && !cjk(rs[j+1]) {
				j += 2
				continue
			}
			break
		}
		out = append(out, string(rs[i:j]))
		i = j
	}
	return out
}

func computeStats(text string, top int) textStats {
	ws := words(text)
	st := textStats{Words: len(ws), Characters: utf8.RuneCountInString(text), Bytes: len(text)}
	counts := map[string]int{}
	letters := 0
	for _, w := range ws {
		counts[strings.ToLower(w)]++
		letters += utf8.RuneCountInString(w)
	}
	st.UniqueWords = len(counts)
	if len(ws) > 0 {
		st.AverageWordLength = round(float64(letters)/float64(len(ws)), 100)
		st.ReadingMinutes = round(float64(len(ws))/200, 10)
	}
	for _, r := range text {
		if !unicode.IsSpace(r) {
			st.CharactersNoSpaces++
		}
	}
	if text != "" {
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		st.Lines = len(lines)
		inPara := false
		for _, l := range lines {
			blank := strings.TrimSpace(l) == ""
			if !blank {
				st.NonEmptyLines++
				if !inPara {
					st.Paragraphs++
				}
			}
			inPara = !blank
		}
	}
	st.Sentences = sentences(text)
	if top > 0 {
		list := make([]wordFreq, 0, len(counts))
		for w, c := range counts {
			list = append(list, wordFreq{w, c})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Count != list[j].Count {
				return list[i].Count > list[j].Count
			}
			return list[i].Word < list[j].Word
		})
		st.TopWords = list[:min(top, len(list))]
	}
	return st
}

// sentences counts runs of sentence-ending punctuation that follow a word,
// plus a final sentence without an ending. A dot is not an ending when no
// space follows it ("3.5", "kiln.dev") or when the next word starts with a
// lower-case letter ("e.g. this"). It is a heuristic: "Mr. Smith" counts
// as two sentences.
func sentences(text string) int {
	n := 0
	sawWord := false
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case wordRune(r):
			sawWord = true
		case r == '.' || r == '!' || r == '?' || r == '…' || r == '。' || r == '！' || r == '？':
			j := i
			for j+1 < len(rs) && strings.ContainsRune(".!?…。！？\"'”’)]", rs[j+1]) {
				j++
			}
			atEnd := j+1 >= len(rs) || unicode.IsSpace(rs[j+1]) || r == '。' || r == '！' || r == '？'
			if atEnd && r == '.' && j == i && nextLower(rs[j+1:]) {
				atEnd = false // "e.g. this", "approx. five": an abbreviation
			}
			if sawWord && atEnd {
				n++
				sawWord = false
			}
			i = j
		}
	}
	if sawWord {
		n++
	}
	return n
}

// nextLower reports whether the first letter after white space is lower case.
func nextLower(rs []rune) bool {
	for _, r := range rs {
		if unicode.IsSpace(r) {
			continue
		}
		return unicode.IsLower(r)
	}
	return false
}

func round(f, scale float64) float64 {
	return float64(int64(f*scale+0.5)) / scale
}
