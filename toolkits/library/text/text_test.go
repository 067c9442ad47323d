package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRegexExtract(t *testing.T) {
	out, err := regexExtract(ctx, extractIn{
		Pattern: `(?P<user>[a-z.]+)@(?P<domain>[a-z]+\.[a-z]+)`,
		Text:    "Écrivez à jean.dupont@exemple.fr ou support@kiln.dev.",
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 2 || out.Truncated {
		t.Fatalf("got %+v", out)
	}
	m := out.Matches[0]
	// Offsets are in characters: "Écrivez à " is 10 characters (12 bytes).
	if m.Text != "jean.dupont@exemple.fr" || m.Start != 10 || m.End != 32 {
		t.Fatalf("got %+v", m)
	}
	if !reflect.DeepEqual(m.Groups, []string{"jean.dupont", "exemple.fr"}) || m.Named["domain"] != "exemple.fr" || m.Named["user"] != "jean.dupont" {
		t.Fatalf("got %+v", m)
	}
	if out.Matches[1].Start != 36 || out.Matches[1].Text != "support@kiln.dev" {
		t.Fatalf("got %+v", out.Matches[1])
	}
}

func TestRegexExtractFlagsAndGroups(t *testing.T) {
	text := "Line one\nline two\nLINE three"
	out, _ := regexExtract(ctx, extractIn{Pattern: `^line (\w+)$`, Text: text})
	if out.Count != 0 {
		t.Fatalf("without flags: %+v", out)
	}
	out, _ = regexExtract(ctx, extractIn{Pattern: `^line (\w+)$`, Text: text, Multiline: true, IgnoreCase: true})
	if out.Count != 3 || out.Matches[2].Groups[0] != "three" {
		t.Fatalf("got %+v", out)
	}
	out, _ = regexExtract(ctx, extractIn{Pattern: `one.line`, Text: text})
	if out.Count != 0 {
		t.Fatal("dot matched a newline without dotAll")
	}
	out, _ = regexExtract(ctx, extractIn{Pattern: `one.line`, Text: text, DotAll: true})
	if out.Count != 1 {
		t.Fatal("dotAll")
	}
	// An optional group that does not take part is an empty string.
	out, _ = regexExtract(ctx, extractIn{Pattern: `a(b)?(c)`, Text: "ac"})
	if !reflect.DeepEqual(out.Matches[0].Groups, []string{"", "c"}) {
		t.Fatalf("got %+v", out.Matches[0])
	}
	// No groups: no groups field.
	out, _ = regexExtract(ctx, extractIn{Pattern: `\d+`, Text: "1 22 333"})
	if out.Count != 3 || out.Matches[2].Groups != nil || out.Matches[2].Start != 5 {
		t.Fatalf("got %+v", out)
	}
	// No match is an empty list, not an error.
	out, err := regexExtract(ctx, extractIn{Pattern: `z`, Text: "abc"})
	if err != nil || out.Count != 0 || out.Matches == nil {
		t.Fatalf("got %+v %v", out, err)
	}
}

func TestRegexExtractCaps(t *testing.T) {
	text := strings.Repeat("a", 500)
	out, _ := regexExtract(ctx, extractIn{Pattern: `a`, Text: text})
	if out.Count != defaultMaxMatches || !out.Truncated {
		t.Fatalf("count %d truncated %v", out.Count, out.Truncated)
	}
	out, _ = regexExtract(ctx, extractIn{Pattern: `a`, Text: text, MaxMatches: 500})
	if out.Count != 500 || out.Truncated {
		t.Fatalf("count %d truncated %v", out.Count, out.Truncated)
	}
	// The byte cap: 3 matches of 30 KiB do not fit in 80 KiB.
	big := strings.Repeat("x", 30<<10)
	out, _ = regexExtract(ctx, extractIn{Pattern: `x+`, Text: big + " " + big + " " + big})
	if out.Count != 2 || !out.Truncated {
		t.Fatalf("count %d truncated %v", out.Count, out.Truncated)
	}
	// RE2 is linear: the classic catastrophic pattern returns at once.
	start := time.Now()
	out, _ = regexExtract(ctx, extractIn{Pattern: `(a+)+$`, Text: strings.Repeat("a", 100_000) + "!"})
	if out.Count != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("count %d after %v", out.Count, time.Since(start))
	}
}

func TestRegexErrors(t *testing.T) {
	cases := []struct {
		in   extractIn
		want string
	}{
		{extractIn{Pattern: "", Text: "x"}, "empty"},
		{extractIn{Pattern: strings.Repeat("a", maxPatternBytes+1), Text: "x"}, "at most 2000"},
		{extractIn{Pattern: "(abc", Text: "x"}, "missing closing )"},
		{extractIn{Pattern: "foo(?=bar)", Text: "x"}, "lookahead and lookbehind are not supported"},
		{extractIn{Pattern: "(?<!x)y", Text: "x"}, "lookahead and lookbehind are not supported"},
		{extractIn{Pattern: `(a)\1`, Text: "x"}, "backreferences"},
		{extractIn{Pattern: `a{2000}`, Text: "x"}, "limited to 1000"},
		{extractIn{Pattern: "a", Text: "x", MaxMatches: -1}, "maxMatches"},
		{extractIn{Pattern: "a", Text: "x", MaxMatches: maxMatchesCap + 1}, "maxMatches"},
		{extractIn{Pattern: "a", Text: strings.Repeat("a", maxTextBytes+1)}, "at most 1024 KiB"},
		{extractIn{Pattern: "a", Text: "\xff"}, "UTF-8"},
	}
	for _, c := range cases {
		if _, err := regexExtract(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: got %v, want %q", c.in.Pattern, err, c.want)
		}
	}
}

func TestRegexReplace(t *testing.T) {
	cases := []struct {
		in   replaceIn
		want string
		n    int
	}{
		{replaceIn{Pattern: `(\w+)@(\w+)\.com`, Text: "bob@example.com, amy@test.com", Replacement: "$2:$1"}, "example:bob, test:amy", 2},
		{replaceIn{Pattern: `(?P<y>\d{4})-(?P<m>\d\d)`, Text: "2024-05", Replacement: "${m}/${y}"}, "05/2024", 1},
		{replaceIn{Pattern: `\d`, Text: "a1b2c3", Replacement: "#", MaxReplacements: 2}, "a#b#c3", 2},
		{replaceIn{Pattern: `\$`, Text: "cost: $5", Replacement: "$1 USD", Literal: true}, "cost: $1 USD5", 1},
		{replaceIn{Pattern: `x`, Text: "x", Replacement: "$$"}, "$", 1},
		{replaceIn{Pattern: `HELLO`, Text: "hello Hello", Replacement: "bye", IgnoreCase: true}, "bye bye", 2},
		{replaceIn{Pattern: `z`, Text: "abc", Replacement: "y"}, "abc", 0},
		{replaceIn{Pattern: `^`, Text: "a\nb", Replacement: "> ", Multiline: true}, "> a\n> b", 2},
		{replaceIn{Pattern: `\s+`, Text: "a  b\t\nc", Replacement: " "}, "a b c", 2},
	}
	for _, c := range cases {
		out, err := regexReplace(ctx, c.in)
		if err != nil || out.Text != c.want || out.Replacements != c.n {
			t.Errorf("%s: got %+v, %v; want %q (%d)", c.in.Pattern, out, err, c.want, c.n)
		}
	}
	// Output growth is capped.
	_, err := regexReplace(ctx, replaceIn{Pattern: `a`, Text: strings.Repeat("a", 1000), Replacement: strings.Repeat("b", 1000)})
	if err == nil || !strings.Contains(err.Error(), "longer than 80 KiB") {
		t.Fatalf("got %v", err)
	}
	_, err = regexReplace(ctx, replaceIn{Pattern: `a`, Text: strings.Repeat("a", maxReplaceMatches+1), Replacement: ""})
	if err == nil || !strings.Contains(err.Error(), "more than 100000") {
		t.Fatalf("got %v", err)
	}
	out, err := regexReplace(ctx, replaceIn{Pattern: `a`, Text: strings.Repeat("a", 60000), Replacement: "", MaxReplacements: 10})
	if err != nil || out.Replacements != 10 {
		t.Fatalf("got %d %v", out.Replacements, err)
	}
	for _, bad := range []replaceIn{
		{Pattern: "(", Text: "x"},
		{Pattern: "a", Text: "x", MaxReplacements: -1},
		{Pattern: "a", Text: "x", Replacement: strings.Repeat("r", 64<<10+1)},
	} {
		if _, err := regexReplace(ctx, bad); err == nil {
			t.Errorf("%+.30v: no error", bad)
		}
	}
}

func TestWordCount(t *testing.T) {
	text := "The cat's well-known hat.  It's 3.5 metres tall!\n\nSecond paragraph here?\nYes.\n"
	st, err := wordCount(ctx, countIn{Text: text, Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := textStats{
		Words: 12, UniqueWords: 12, Characters: len([]rune(text)), Bytes: len(text),
		Lines: 4, NonEmptyLines: 3, Sentences: 4, Paragraphs: 2,
	}
	// words: The cat's well-known hat It's 3 5 metres tall Second paragraph here Yes → 13?
	// "3.5" splits into 3 and 5 (a dot is not a joiner), so 13 words.
	want.Words, want.UniqueWords = 13, 13
	if st.Words != want.Words || st.UniqueWords != want.UniqueWords || st.Lines != want.Lines ||
		st.NonEmptyLines != want.NonEmptyLines || st.Sentences != want.Sentences || st.Paragraphs != want.Paragraphs ||
		st.Characters != want.Characters || st.Bytes != want.Bytes {
		t.Fatalf("got %+v", st)
	}
	if len(st.TopWords) != 2 || st.TopWords[0].Count != 1 {
		t.Fatalf("top %+v", st.TopWords)
	}
	if st.CharactersNoSpaces != len([]rune(strings.Join(strings.Fields(text), ""))) {
		t.Fatalf("no spaces %d", st.CharactersNoSpaces)
	}
}

func TestWords(t *testing.T) {
	cases := map[string][]string{
		"don't stop":        {"don't", "stop"},
		"don’t":             {"don’t"},
		"state-of-the-art":  {"state-of-the-art"},
		"- dash -":          {"dash"},
		"'quoted'":          {"quoted"},
		"naïve café":        {"naïve", "café"},
		"cafe\u0301":        {"cafe\u0301"},
		"東京は晴れ":             {"東", "京", "は", "晴", "れ"},
		"Kiln東京":            {"Kiln", "東", "京"},
		"안녕하세요 세계":          {"안녕하세요", "세계"},
		"x1 2y":             {"x1", "2y"},
		"email@example.com": {"email", "example", "com"},
		"":                  nil,
	}
	for in, want := range cases {
		if got := words(in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestStatsDetails(t *testing.T) {
	st := computeStats("", 5)
	if st.Words != 0 || st.Lines != 0 || st.Sentences != 0 || st.Paragraphs != 0 || len(st.TopWords) != 0 {
		t.Fatalf("empty: %+v", st)
	}
	st = computeStats("the The THE a", 1)
	if st.UniqueWords != 2 || st.TopWords[0] != (wordFreq{"the", 3}) {
		t.Fatalf("got %+v", st)
	}
	st = computeStats(strings.Repeat("word ", 300), 0)
	if st.ReadingMinutes != 1.5 || st.AverageWordLength != 4 {
		t.Fatalf("got %+v", st)
	}
	for text, n := range map[string]int{
		"One. Two! Three?":            3,
		"No ending":                   1,
		"e.g. this is one":            1,
		"Pi is 3.14 exactly.":         1,
		"Wait... what?!":              2,
		"He said \"stop.\" Then left": 2,
		"これは文です。二つ目。":                 2,
		"...":                         0,
	} {
		if got := sentences(text); got != n {
			t.Errorf("sentences(%q) = %d, want %d", text, got, n)
		}
	}
	if _, err := wordCount(ctx, countIn{Text: "x", Top: 101}); err == nil {
		t.Error("top 101 accepted")
	}
}

func TestSlugify(t *testing.T) {
	dash := "-"
	under := "_"
	empty := ""
	cases := []struct {
		in   slugIn
		want string
	}{
		{slugIn{Text: "Hello, World!"}, "hello-world"},
		{slugIn{Text: "Crème Brûlée à la Mode"}, "creme-brulee-a-la-mode"},
		{slugIn{Text: "Straße in Łódź, Ærøskøbing"}, "strasse-in-lodz-aeroskobing"},
		{slugIn{Text: "Ångström  –  Ñandú"}, "angstrom-nandu"},
		{slugIn{Text: "Tiếng Việt có dấu"}, "tieng-viet-co-dau"},
		{slugIn{Text: "Привет, мир"}, "privet-mir"},
		{slugIn{Text: "Ελληνικά κείμενα"}, "ellinika-keimena"},
		{slugIn{Text: "東京 Tokyo 2024"}, "tokyo-2024"},
		{slugIn{Text: "東京 Tokyo", Unicode: true}, "東京-tokyo"},
		{slugIn{Text: "München Café", Unicode: true}, "münchen-café"},
		{slugIn{Text: "Don't Stop Me Now"}, "dont-stop-me-now"},
		{slugIn{Text: "ﬁnal ①②"}, "final-12"},
		{slugIn{Text: "Cafe\u0301 decomposed"}, "cafe-decomposed"},
		{slugIn{Text: "Keep Case", KeepCase: true}, "Keep-Case"},
		{slugIn{Text: "a b c", Separator: &under}, "a_b_c"},
		{slugIn{Text: "a b c", Separator: &empty}, "abc"},
		{slugIn{Text: "a b c", Separator: &dash}, "a-b-c"},
		{slugIn{Text: "  --Leading and trailing--  "}, "leading-and-trailing"},
		{slugIn{Text: "The quick brown fox jumps", MaxLength: 15}, "the-quick-brown"},
		{slugIn{Text: "The quick brown fox jumps", MaxLength: 14}, "the-quick"},
		{slugIn{Text: "Supercalifragilistic", MaxLength: 5}, "super"},
		{slugIn{Text: "ab cdefghij", MaxLength: 6}, "ab-cde"},
	}
	for _, c := range cases {
		out, err := slugTool(ctx, c.in)
		if err != nil || out.Slug != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in.Text, out.Slug, err, c.want)
		}
	}
	bad := "ab1"
	long := "----"
	for _, in := range []slugIn{
		{Text: "!!!"},
		{Text: "東京"},
		{Text: "x", Separator: &bad},
		{Text: "x", Separator: &long},
		{Text: "x", MaxLength: -1},
		{Text: strings.Repeat("x", maxSlugInputBytes+1)},
	} {
		if _, err := slugTool(ctx, in); err == nil {
			t.Errorf("%.20q: no error", in.Text)
		}
	}
	_, err := slugTool(ctx, slugIn{Text: "東京"})
	if err == nil || !strings.Contains(err.Error(), "unicode: true") {
		t.Errorf("got %v", err)
	}
}

func TestTransliterationTable(t *testing.T) {
	table := transliteration()
	if len(table) < 900 {
		t.Fatalf("only %d entries", len(table))
	}
	for r, s := range table {
		if s == "" {
			t.Errorf("%q maps to nothing", r)
		}
		for _, c := range s {
			if c >= 0x80 {
				t.Errorf("%q maps to non-ASCII %q", r, s)
			}
		}
	}
	if toASCII("Ωmega Ж ÿ") != "Omega Zh y" {
		t.Errorf("got %q", toASCII("Ωmega Ж ÿ"))
	}
}

func TestConvertCase(t *testing.T) {
	cases := []struct{ text, to, want string }{
		{"hello world", "camel", "helloWorld"},
		{"Hello World", "pascal", "HelloWorld"},
		{"helloWorld", "snake", "hello_world"},
		{"HTTPServerError", "snake", "http_server_error"},
		{"parseHTTPResponse", "kebab", "parse-http-response"},
		{"utf8Decode", "snake", "utf8_decode"},
		{"user_id", "camel", "userId"},
		{"user-id", "pascal", "UserId"},
		{"some.value", "constant", "SOME_VALUE"},
		{"Some Value", "dot", "some.value"},
		{"  spaced   out  ", "kebab", "spaced-out"},
		{"XMLHttpRequest", "camel", "xmlHttpRequest"},
		{"ÉtéChaud", "snake", "été_chaud"},
		{"hELLO wORLD, it's me", "title", "Hello World, It's Me"},
		{"hello WORLD. how are YOU? fine", "sentence", "Hello world. How are you? Fine"},
		{"ünïcode", "upper", "ÜNÏCODE"},
		{"ÀB", "lower", "àb"},
		{"", "camel", ""},
	}
	for _, c := range cases {
		out, err := caseTool(ctx, caseIn{Text: c.text, To: c.to})
		if err != nil || out.Text != c.want {
			t.Errorf("%q to %s: got %q, %v; want %q", c.text, c.to, out.Text, err, c.want)
		}
	}
	if _, err := caseTool(ctx, caseIn{Text: "x", To: "shouting"}); err == nil {
		t.Error("unknown case accepted")
	}
	if _, err := caseTool(ctx, caseIn{Text: strings.Repeat("x", maxCaseBytes+1), To: "upper"}); err == nil {
		t.Error("oversized text accepted")
	}
}
