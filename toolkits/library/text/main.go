// Command text is a curated Kiln library module: regular-expression
// extraction and replacement, line diffs, text statistics, slugs and case
// conversion.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// Limits of one call.
const (
	maxTextBytes      = 1 << 20   // regex and word count input
	maxDiffBytes      = 512 << 10 // each side of a diff
	maxDiffLines      = 20_000    // each side of a diff
	maxCaseBytes      = 256 << 10 // case conversion input (the output is as long)
	maxSlugInputBytes = 64 << 10
	// maxOutputBytes bounds the text a tool returns. A result carries it
	// twice (structuredContent and a JSON text copy), so 80 KiB of data
	// stays under the smallest plan's 256 KiB result limit.
	maxOutputBytes    = 80 << 10
	defaultMaxMatches = 100
	maxMatchesCap     = 10_000
)

func checkSize(name string, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s is %d bytes; at most %d KiB are accepted", name, len(s), max>>10)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	return nil
}

// ---- regex_extract ----

type extractIn struct {
	Pattern    string `json:"pattern" description:"Regular expression in RE2 syntax (Go regexp): no lookaround or backreferences; (?P<name>...) names a group"`
	Text       string `json:"text" description:"The text to search (at most 1 MiB)"`
	IgnoreCase bool   `json:"ignoreCase,omitempty" description:"Match letters case-insensitively"`
	Multiline  bool   `json:"multiline,omitempty" description:"^ and $ match at line starts and ends, not only at the ends of the text"`
	DotAll     bool   `json:"dotAll,omitempty" description:". also matches newlines"`
	MaxMatches int    `json:"maxMatches,omitempty" description:"Most matches to return (default 100, at most 10000)"`
}

type extractOut struct {
	Count     int          `json:"count" description:"Number of matches returned"`
	Truncated bool         `json:"truncated,omitempty" description:"True when there are more matches than returned (maxMatches or the 256 KiB output limit)"`
	Matches   []regexMatch `json:"matches" description:"Matches in order of position"`
}

func regexExtract(_ context.Context, in extractIn) (extractOut, error) {
	if err := checkSize("text", in.Text, maxTextBytes); err != nil {
		return extractOut{}, err
	}
	max := in.MaxMatches
	switch {
	case max == 0:
		max = defaultMaxMatches
	case max < 0 || max > maxMatchesCap:
		return extractOut{}, fmt.Errorf("maxMatches must be between 1 and %d", maxMatchesCap)
	}
	re, err := compileRegex(in.Pattern, regexFlags{in.IgnoreCase, in.Multiline, in.DotAll})
	if err != nil {
		return extractOut{}, err
	}
	matches, truncated := extract(re, in.Text, max, maxOutputBytes)
	return extractOut{Count: len(matches), Truncated: truncated, Matches: matches}, nil
}

// ---- regex_replace ----

type replaceIn struct {
	Pattern         string `json:"pattern" description:"Regular expression in RE2 syntax (Go regexp)"`
	Text            string `json:"text" description:"The text to change (at most 1 MiB)"`
	Replacement     string `json:"replacement" description:"Replacement text; $1, ${1} and ${name} insert capture groups and $$ a dollar sign, unless literal is set"`
	Literal         bool   `json:"literal,omitempty" description:"Insert replacement as is, without expanding $ references"`
	IgnoreCase      bool   `json:"ignoreCase,omitempty" description:"Match letters case-insensitively"`
	Multiline       bool   `json:"multiline,omitempty" description:"^ and $ match at line starts and ends"`
	DotAll          bool   `json:"dotAll,omitempty" description:". also matches newlines"`
	MaxReplacements int    `json:"maxReplacements,omitempty" description:"Replace only the first N matches (default: all, up to 100000)"`
}

type replaceOut struct {
	Text         string `json:"text" description:"The text after replacement"`
	Replacements int    `json:"replacements" description:"Number of matches replaced"`
}

func regexReplace(_ context.Context, in replaceIn) (replaceOut, error) {
	if err := checkSize("text", in.Text, maxTextBytes); err != nil {
		return replaceOut{}, err
	}
	if len(in.Replacement) > 64<<10 {
		return replaceOut{}, errors.New("replacement is longer than 64 KiB")
	}
	if in.MaxReplacements < 0 {
		return replaceOut{}, errors.New("maxReplacements must not be negative")
	}
	re, err := compileRegex(in.Pattern, regexFlags{in.IgnoreCase, in.Multiline, in.DotAll})
	if err != nil {
		return replaceOut{}, err
	}
	out, n, err := replace(re, in.Text, in.Replacement, in.Literal, in.MaxReplacements, maxOutputBytes)
	if err != nil {
		return replaceOut{}, err
	}
	return replaceOut{Text: out, Replacements: n}, nil
}

// ---- diff_text ----

type diffIn struct {
	Original         string `json:"original" description:"The old text"`
	Modified         string `json:"modified" description:"The new text"`
	Context          *int   `json:"context,omitempty" description:"Unchanged lines shown around each change (default 3, at most 1000)"`
	FromLabel        string `json:"fromLabel,omitempty" description:"Name of the old text in the --- header (default a)"`
	ToLabel          string `json:"toLabel,omitempty" description:"Name of the new text in the +++ header (default b)"`
	IgnoreWhitespace bool   `json:"ignoreWhitespace,omitempty" description:"Treat lines that differ only in the amount of white space as equal"`
	IgnoreCase       bool   `json:"ignoreCase,omitempty" description:"Treat lines that differ only in letter case as equal"`
}

type diffOut struct {
	Identical bool   `json:"identical" description:"True when the texts compare equal (under the ignore options)"`
	Added     int    `json:"added" description:"Lines added"`
	Removed   int    `json:"removed" description:"Lines removed"`
	Hunks     int    `json:"hunks" description:"Number of hunks in the diff"`
	Minimal   bool   `json:"minimal" description:"False when the texts differ so much that a quicker, possibly longer diff was produced"`
	Truncated bool   `json:"truncated,omitempty" description:"True when the diff text was cut at a hunk boundary to stay under 256 KiB (counts cover the whole diff)"`
	Diff      string `json:"diff" description:"Unified diff (as diff -u and git diff print it); empty when identical"`
}

func diffText(_ context.Context, in diffIn) (diffOut, error) {
	for _, side := range []struct{ name, text string }{{"original", in.Original}, {"modified", in.Modified}} {
		if err := checkSize(side.name, side.text, maxDiffBytes); err != nil {
			return diffOut{}, err
		}
		if n := strings.Count(side.text, "\n"); n > maxDiffLines {
			return diffOut{}, fmt.Errorf("%s has %d lines; at most %d are accepted", side.name, n, maxDiffLines)
		}
	}
	ctxLines := 3
	if in.Context != nil {
		ctxLines = *in.Context
		if ctxLines < 0 || ctxLines > 1000 {
			return diffOut{}, errors.New("context must be between 0 and 1000")
		}
	}
	label := func(s, def string) (string, error) {
		if s == "" {
			return def, nil
		}
		if len(s) > 256 || strings.ContainsAny(s, "\r\n") {
			return "", errors.New("labels must be one line of at most 256 bytes")
		}
		return s, nil
	}
	from, err := label(in.FromLabel, "a")
	if err != nil {
		return diffOut{}, err
	}
	to, err := label(in.ToLabel, "b")
	if err != nil {
		return diffOut{}, err
	}
	r := unifiedDiff(in.Original, in.Modified, diffOptions{
		context: ctxLines, fromLabel: from, toLabel: to,
		ignoreWhitespace: in.IgnoreWhitespace, ignoreCase: in.IgnoreCase, maxOutput: maxOutputBytes,
	})
	return diffOut{
		Identical: r.added == 0 && r.removed == 0, Added: r.added, Removed: r.removed,
		Hunks: r.hunks, Minimal: r.minimal, Truncated: r.truncated, Diff: r.unified,
	}, nil
}

// ---- word_count ----

type countIn struct {
	Text string `json:"text" description:"The text to analyse (at most 1 MiB)"`
	Top  int    `json:"top,omitempty" description:"Also list the N most frequent words (0 to 100, default 0)"`
}

func wordCount(_ context.Context, in countIn) (textStats, error) {
	if err := checkSize("text", in.Text, maxTextBytes); err != nil {
		return textStats{}, err
	}
	if in.Top < 0 || in.Top > 100 {
		return textStats{}, errors.New("top must be between 0 and 100")
	}
	return computeStats(in.Text, in.Top), nil
}

// ---- slugify ----

type slugIn struct {
	Text      string  `json:"text" description:"The text to turn into a slug, such as a title"`
	Separator *string `json:"separator,omitempty" description:"Joins the words (default -); at most 3 characters, no letters or digits; may be empty"`
	MaxLength int     `json:"maxLength,omitempty" description:"Cut the slug to at most this many characters, at a word boundary when possible (default: no limit)"`
	KeepCase  bool    `json:"keepCase,omitempty" description:"Keep upper-case letters instead of lower-casing"`
	Unicode   bool    `json:"unicode,omitempty" description:"Keep non-ASCII letters and digits (München → münchen) instead of transliterating to ASCII (→ munchen) and dropping what has no ASCII form"`
}

type slugOut struct {
	Slug string `json:"slug" description:"The slug"`
}

func slugTool(_ context.Context, in slugIn) (slugOut, error) {
	if err := checkSize("text", in.Text, maxSlugInputBytes); err != nil {
		return slugOut{}, err
	}
	sep := "-"
	if in.Separator != nil {
		sep = *in.Separator
		if utf8.RuneCountInString(sep) > 3 || strings.IndexFunc(sep, func(r rune) bool {
			return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsControl(r)
		}) >= 0 {
			return slugOut{}, errors.New("separator must be at most 3 characters and contain no letters, digits or control characters")
		}
	}
	if in.MaxLength < 0 {
		return slugOut{}, errors.New("maxLength must not be negative")
	}
	s := slugify(in.Text, slugOptions{separator: sep, maxLength: in.MaxLength, keepCase: in.KeepCase, unicode: in.Unicode})
	if s == "" {
		if !in.Unicode && strings.IndexFunc(in.Text, unicode.IsLetter) >= 0 {
			return slugOut{}, errors.New("nothing is left of the text: its letters have no ASCII transliteration here; set unicode: true to keep them")
		}
		return slugOut{}, errors.New("nothing is left of the text: it has no letters or digits")
	}
	return slugOut{Slug: s}, nil
}

// ---- convert_case ----

type caseIn struct {
	Text string `json:"text" description:"The text or identifier to convert"`
	To   string `json:"to" enum:"camel,pascal,snake,kebab,constant,dot,title,sentence,upper,lower" description:"Target case: camel (fooBar), pascal (FooBar), snake (foo_bar), kebab (foo-bar), constant (FOO_BAR), dot (foo.bar), title (Foo Bar), sentence (Foo bar), upper, lower"`
}

type caseOut struct {
	Text string `json:"text" description:"The converted text"`
}

func caseTool(_ context.Context, in caseIn) (caseOut, error) {
	if err := checkSize("text", in.Text, maxCaseBytes); err != nil {
		return caseOut{}, err
	}
	switch in.To {
	case "camel", "pascal", "snake", "kebab", "constant", "dot", "title", "sentence", "upper", "lower":
	default:
		return caseOut{}, fmt.Errorf("unknown case %q", in.To)
	}
	return caseOut{Text: convertCase(in.Text, in.To)}, nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("regex_extract", "Finds the matches of a regular expression (RE2 syntax) in a text, with capture groups and positions", regexExtract),
		kiln.NewTool("regex_replace", "Replaces the matches of a regular expression (RE2 syntax) in a text, with $1/${name} group references", regexReplace),
		kiln.NewTool("diff_text", "Compares two texts line by line and returns a unified diff with counts of added and removed lines", diffText),
		kiln.NewTool("word_count", "Counts words, characters, lines, sentences and paragraphs, and lists the most frequent words", wordCount),
		kiln.NewTool("slugify", "Turns a title into a URL slug (Crème Brûlée à la Mode → creme-brulee-a-la-mode)", slugTool),
		kiln.NewTool("convert_case", "Converts text or identifiers between camelCase, PascalCase, snake_case, kebab-case, CONSTANT_CASE, Title Case and more", caseTool),
	}})
}
