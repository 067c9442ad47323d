package main

import (
	"strings"
	"unicode"
)

// identWords splits text into words for identifier cases: at anything that
// is not a letter or digit, at lower-to-upper changes ("fooBar"), and before
// the last capital of an acronym followed by lower case ("HTTPServer" →
// "HTTP", "Server"). Digits stay with the word before them ("utf8Decode" →
// "utf8", "Decode").
func identWords(s string) []string {
	var words []string
	rs := []rune(s)
	start := -1
	for i, r := range rs {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
		if !word {
			if start >= 0 {
				words = append(words, string(rs[start:i]))
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		split := false
		switch {
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			split = true // fooBar, utf8Decode
		case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			split = true // HTTPServer: split before the S
		}
		if split {
			words = append(words, string(rs[start:i]))
			start = i
		}
	}
	if start >= 0 {
		words = append(words, string(rs[start:]))
	}
	return words
}

func capitalize(w string) string {
	rs := []rune(strings.ToLower(w))
	if len(rs) == 0 {
		return ""
	}
	rs[0] = unicode.ToTitle(rs[0])
	return string(rs)
}

// convertCase converts text to the named case. The identifier cases (camel,
// pascal, snake, kebab, constant, dot) rebuild the text from its words and
// drop punctuation; title, sentence, upper and lower keep the text as it is
// apart from letter case.
func convertCase(text, to string) string {
	switch to {
	case "upper":
		return strings.ToUpper(text)
	case "lower":
		return strings.ToLower(text)
	case "title":
		return mapWords(text, func(w string, _ bool) string { return capitalize(w) })
	case "sentence":
		return mapWords(text, func(w string, first bool) string {
			if first {
				return capitalize(w)
			}
			return strings.ToLower(w)
		})
	}
	words := identWords(text)
	for i, w := range words {
		switch to {
		case "camel":
			if i == 0 {
				words[i] = strings.ToLower(w)
			} else {
				words[i] = capitalize(w)
			}
		case "pascal":
			words[i] = capitalize(w)
		case "constant":
			words[i] = strings.ToUpper(w)
		default:
			words[i] = strings.ToLower(w)
		}
	}
	switch to {
	case "snake", "constant":
		return strings.Join(words, "_")
	case "kebab":
		return strings.Join(words, "-")
	case "dot":
		return strings.Join(words, ".")
	}
	return strings.Join(words, "")
}

// mapWords rewrites each run of letters (with inner apostrophes) in text,
// keeping everything else. first is true for the first word of the text and
// of each sentence (after '.', '!' or '?').
func mapWords(text string, f func(w string, first bool) string) string {
	var b strings.Builder
	rs := []rune(text)
	first := true
	for i := 0; i < len(rs); {
		r := rs[i]
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			switch r {
			case '.', '!', '?', '。', '！', '？':
				first = true
			}
			b.WriteRune(r)
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || unicode.Is(unicode.M, rs[j]) ||
			(rs[j] == '\'' || rs[j] == '’') && j+1 < len(rs) && unicode.IsLetter(rs[j+1])) {
			j++
		}
		b.WriteString(f(string(rs[i:j]), first))
		first = false
		i = j
	}
	return b.String()
}
