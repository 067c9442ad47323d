package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

const (
	maxPatternBytes   = 2000
	maxReplaceMatches = 100_000
)

type regexFlags struct {
	ignoreCase bool
	multiline  bool
	dotAll     bool
}

// compileRegex compiles an RE2 pattern (Go's regexp: linear time, no
// backtracking) with the flags as a prefix, explaining what RE2 lacks.
func compileRegex(pattern string, f regexFlags) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, fmt.Errorf("pattern is empty")
	}
	if len(pattern) > maxPatternBytes {
		return nil, fmt.Errorf("pattern is %d bytes; at most %d are accepted", len(pattern), maxPatternBytes)
	}
	prefix := ""
	if f.ignoreCase {
		prefix += "i"
	}
	if f.multiline {
		prefix += "m"
	}
	if f.dotAll {
		prefix += "s"
	}
	full := pattern
	if prefix != "" {
		full = "(?" + prefix + ")" + pattern
	}
	re, err := regexp.Compile(full)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		switch {
		case strings.Contains(msg, "(?=") || strings.Contains(msg, "(?!") || strings.Contains(msg, "(?<=") || strings.Contains(msg, "(?<!"):
			msg += " (lookahead and lookbehind are not supported: patterns use RE2 syntax, which runs in linear time)"
		case strings.Contains(msg, "invalid escape sequence: `\\") && len(msg) > 0 && strings.ContainsAny(msg[strings.LastIndex(msg, "\\")+1:], "123456789"):
			msg += " (backreferences such as \\1 are not supported: patterns use RE2 syntax)"
		case strings.Contains(msg, "invalid repeat count"):
			msg += " (repeat counts are limited to 1000)"
		}
		return nil, fmt.Errorf("invalid pattern: %s", msg)
	}
	return re, nil
}

type regexMatch struct {
	Text   string            `json:"text" description:"The matched text"`
	Start  int               `json:"start" description:"Start offset in characters (0-based)"`
	End    int               `json:"end" description:"End offset in characters (exclusive)"`
	Groups []string          `json:"groups,omitempty" description:"Capture groups 1..n in order (an empty string when a group did not take part)"`
	Named  map[string]string `json:"named,omitempty" description:"Named capture groups (?P<name>...) by name"`
}

// runeOffsets converts increasing byte offsets in s to character offsets.
type runeOffsets struct {
	s          string
	byteAt     int
	runesSoFar int
}

func (r *runeOffsets) at(b int) int {
	if b < r.byteAt { // not increasing: count from the start
		r.byteAt, r.runesSoFar = 0, 0
	}
	r.runesSoFar += utf8.RuneCountInString(r.s[r.byteAt:b])
	r.byteAt = b
	return r.runesSoFar
}

// extract returns up to max matches of re in text, stopping early when the
// matched text passes maxBytes. truncated reports a cut list.
func extract(re *regexp.Regexp, text string, max, maxBytes int) (matches []regexMatch, truncated bool) {
	locs := re.FindAllStringSubmatchIndex(text, max+1)
	if len(locs) > max {
		locs, truncated = locs[:max], true
	}
	names := re.SubexpNames()
	offs := &runeOffsets{s: text}
	size := 0
	matches = []regexMatch{}
	for _, loc := range locs {
		m := regexMatch{Text: text[loc[0]:loc[1]]}
		m.Start = offs.at(loc[0])
		m.End = offs.at(loc[1])
		size += len(m.Text)
		for g := 1; g < len(names); g++ {
			var s string
			if loc[2*g] >= 0 {
				s = text[loc[2*g]:loc[2*g+1]]
			}
			size += len(s)
			m.Groups = append(m.Groups, s)
			if names[g] != "" {
				if m.Named == nil {
					m.Named = map[string]string{}
				}
				m.Named[names[g]] = s
			}
		}
		if size > maxBytes {
			return matches, true
		}
		matches = append(matches, m)
	}
	return matches, truncated
}

// replace substitutes up to max matches of re in text (all when max is 0).
// The replacement expands $1, ${1} and ${name} unless literal is set. A
// result longer than maxBytes is an error.
func replace(re *regexp.Regexp, text, repl string, literal bool, max, maxBytes int) (string, int, error) {
	n := maxReplaceMatches + 1
	if max > 0 {
		n = min(max, n)
	}
	locs := re.FindAllStringSubmatchIndex(text, n)
	if len(locs) > maxReplaceMatches {
		return "", 0, fmt.Errorf("the pattern matches more than %d times; set maxReplacements or use a narrower pattern", maxReplaceMatches)
	}
	if len(locs) == 0 {
		return text, 0, nil
	}
	var out []byte
	last := 0
	for _, loc := range locs {
		out = append(out, text[last:loc[0]]...)
		if literal {
			out = append(out, repl...)
		} else {
			out = re.ExpandString(out, repl, text, loc)
		}
		last = loc[1]
		if len(out) > maxBytes {
			return "", 0, fmt.Errorf("the result would be longer than %d KiB; replace fewer matches (maxReplacements) or send a shorter text", maxBytes>>10)
		}
	}
	out = append(out, text[last:]...)
	if len(out) > maxBytes {
		return "", 0, fmt.Errorf("the result would be longer than %d KiB; replace fewer matches (maxReplacements) or send a shorter text", maxBytes>>10)
	}
	return string(out), len(locs), nil
}
