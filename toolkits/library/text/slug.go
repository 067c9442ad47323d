package main

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// translit maps a character to its ASCII replacement (see translit.go). It
// is built on first use: each call runs in a fresh instance, and only
// slugify needs it.
var translit map[rune]string

func transliteration() map[rune]string {
	if translit == nil {
		fields := strings.Fields(translitTable)
		translit = make(map[rune]string, len(fields))
		for _, f := range fields {
			r, n := utf8.DecodeRuneInString(f)
			translit[r] = f[n:]
		}
	}
	return translit
}

// toASCII replaces letters and digits with ASCII equivalents where the table
// has one and drops combining marks (so decomposed input such as "e\u0301"
// loses its accent too). Other characters are kept.
func toASCII(s string) string {
	table := transliteration()
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// combining mark: drop
		default:
			if t, ok := table[r]; ok {
				b.WriteString(t)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

type slugOptions struct {
	separator string
	maxLength int // in characters; 0 means no limit
	keepCase  bool
	unicode   bool // keep non-ASCII letters and digits
}

// slugify turns text into a URL- and file-name-friendly slug: words of
// letters and digits joined by the separator.
func slugify(text string, o slugOptions) string {
	if !o.unicode {
		text = toASCII(text)
	}
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range text {
		switch {
		case r == '\'' || r == '’' || r == 'ʼ':
			// apostrophes join: "don't" → "dont"
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			cur.WriteRune(r)
		case o.unicode && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.M, r)):
			cur.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	slug := strings.Join(words, o.separator)
	if !o.keepCase {
		slug = strings.ToLower(slug)
	}
	if o.maxLength > 0 && utf8.RuneCountInString(slug) > o.maxLength {
		slug = truncateSlug(slug, o.separator, o.maxLength)
	}
	return slug
}

// truncateSlug cuts slug to at most max characters, at a separator when one
// leaves at least half of the allowance.
func truncateSlug(slug, sep string, max int) string {
	r := []rune(slug)
	cut := string(r[:max])
	if sep != "" {
		// Is the cut at a word boundary already?
		if strings.HasPrefix(string(r[max:]), sep) {
			return cut
		}
		if i := strings.LastIndex(cut, sep); i > 0 && utf8.RuneCountInString(cut[:i]) >= max/2 {
			return cut[:i]
		}
		cut = strings.TrimSuffix(cut, sep)
	}
	return cut
}
