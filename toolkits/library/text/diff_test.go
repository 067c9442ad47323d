package main

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

var ctx = context.Background()

func intp(i int) *int { return &i }

// The expected outputs are what GNU diff -u prints for the same inputs.
func TestUnifiedDiffMatchesGNU(t *testing.T) {
	letters := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	cases := []struct {
		name     string
		a, b     string
		context  int
		expected string
	}{
		{"two hunks", letters, strings.Replace(letters, "d\n", "D\n", 1) + "n\n", 3,
			"--- a\n+++ b\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n@@ -11,3 +11,4 @@\n k\n l\n m\n+n\n"},
		{"no context", letters, strings.Replace(letters, "d\n", "D\n", 1) + "n\n", 0,
			"--- a\n+++ b\n@@ -4 +4 @@\n-d\n+D\n@@ -13,0 +14 @@\n+n\n"},
		{"missing final newline", "one\ntwo", "one\ntwo\n", 3,
			"--- a\n+++ b\n@@ -1,2 +1,2 @@\n one\n-two\n\\ No newline at end of file\n+two\n"},
		{"from empty", "", "x\ny\n", 3, "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"to empty", "x\ny\n", "", 3, "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-x\n-y\n"},
		{"merged hunks", letters, strings.Replace(strings.Replace(letters, "c\n", "C\n", 1), "i\n", "I\n", 1), 3,
			"--- a\n+++ b\n@@ -1,12 +1,12 @@\n a\n b\n-c\n+C\n d\n e\n f\n g\n h\n-i\n+I\n j\n k\n l\n"},
	}
	for _, c := range cases {
		out, err := diffText(ctx, diffIn{Original: c.a, Modified: c.b, Context: intp(c.context)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if out.Diff != c.expected {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", c.name, out.Diff, c.expected)
		}
		if !out.Minimal || out.Identical {
			t.Errorf("%s: %+v", c.name, out)
		}
	}
}

func TestDiffCounts(t *testing.T) {
	out, err := diffText(ctx, diffIn{Original: "a\nb\nc\n", Modified: "a\nB\nc\nd\n", FromLabel: "old.txt", ToLabel: "new.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Added != 2 || out.Removed != 1 || out.Hunks != 1 || out.Identical {
		t.Fatalf("got %+v", out)
	}
	if !strings.HasPrefix(out.Diff, "--- old.txt\n+++ new.txt\n@@ -1,3 +1,4 @@\n") {
		t.Fatalf("got %s", out.Diff)
	}
	same, _ := diffText(ctx, diffIn{Original: "x\n", Modified: "x\n"})
	if !same.Identical || same.Diff != "" || same.Hunks != 0 {
		t.Fatalf("got %+v", same)
	}
	empty, _ := diffText(ctx, diffIn{})
	if !empty.Identical {
		t.Fatalf("got %+v", empty)
	}
}

func TestDiffIgnoreOptions(t *testing.T) {
	a, b := "Hello  World\nfoo\n", "hello world \nfoo\n"
	out, _ := diffText(ctx, diffIn{Original: a, Modified: b})
	if out.Identical {
		t.Fatal("differs without options")
	}
	out, _ = diffText(ctx, diffIn{Original: a, Modified: b, IgnoreWhitespace: true})
	if out.Identical {
		t.Fatal("case still differs")
	}
	out, _ = diffText(ctx, diffIn{Original: a, Modified: b, IgnoreWhitespace: true, IgnoreCase: true})
	if !out.Identical {
		t.Fatalf("got %+v", out)
	}
}

func TestDiffErrors(t *testing.T) {
	cases := []struct {
		in   diffIn
		want string
	}{
		{diffIn{Context: intp(-1)}, "context"},
		{diffIn{Context: intp(1001)}, "context"},
		{diffIn{FromLabel: "a\nb"}, "one line"},
		{diffIn{Original: strings.Repeat("x", maxDiffBytes+1)}, "at most"},
		{diffIn{Modified: strings.Repeat("\n", maxDiffLines+1)}, "lines"},
		{diffIn{Original: "\xff"}, "UTF-8"},
	}
	for _, c := range cases {
		if _, err := diffText(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// apply rebuilds the new line list from the old one and an edit script.
func apply(a, b []int, ops []op) ([]int, error) {
	var out []int
	ai, bi := 0, 0
	for _, o := range ops {
		switch o {
		case opEqual:
			if ai >= len(a) || bi >= len(b) || a[ai] != b[bi] {
				return nil, fmt.Errorf("equal op on differing lines at %d/%d", ai, bi)
			}
			out = append(out, a[ai])
			ai++
			bi++
		case opDelete:
			ai++
		case opInsert:
			out = append(out, b[bi])
			bi++
		}
	}
	if ai != len(a) || bi != len(b) {
		return nil, fmt.Errorf("script consumed %d/%d and %d/%d", ai, len(a), bi, len(b))
	}
	return out, nil
}

func lcsLen(a, b []int) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// Random inputs: the script must be valid and as short as the LCS allows.
func TestMyersMinimalOnRandomInputs(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 500; iter++ {
		a := make([]int, rng.Intn(30))
		b := make([]int, rng.Intn(30))
		for i := range a {
			a[i] = rng.Intn(5)
		}
		for i := range b {
			b[i] = rng.Intn(5)
		}
		ops, minimal := diffIDs(a, b)
		got, err := apply(a, b, ops)
		if err != nil {
			t.Fatalf("a=%v b=%v: %v", a, b, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(b) && !(len(got) == 0 && len(b) == 0) {
			t.Fatalf("a=%v b=%v: rebuilt %v", a, b, got)
		}
		edits := 0
		for _, o := range ops {
			if o != opEqual {
				edits++
			}
		}
		if want := len(a) + len(b) - 2*lcsLen(a, b); !minimal || edits != want {
			t.Fatalf("a=%v b=%v: %d edits (minimal %v), want %d", a, b, edits, minimal, want)
		}
	}
}

// Texts far apart exceed the edit limit: the diff falls back to anchors,
// stays correct, and says it is not minimal.
func TestDiffFallback(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 4000; i++ {
		fmt.Fprintf(&a, "old %d\n", i)
		fmt.Fprintf(&b, "new %d\n", i)
		if i%100 == 0 { // shared unique anchors
			fmt.Fprintf(&a, "anchor %d\n", i)
			fmt.Fprintf(&b, "anchor %d\n", i)
		}
	}
	out, err := diffText(ctx, diffIn{Original: a.String(), Modified: b.String(), Context: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Minimal || out.Added != 4000 || out.Removed != 4000 {
		t.Fatalf("minimal %v added %d removed %d", out.Minimal, out.Added, out.Removed)
	}
	if out.Truncated || out.Hunks != 41 { // 40 anchors, 41 gaps
		t.Fatalf("truncated %v, %d hunks", out.Truncated, out.Hunks)
	}
	// No anchors at all: one delete+insert block.
	x := strings.Repeat("x\n", 3000)
	y := strings.Repeat("y\n", 3000)
	r := unifiedDiff(x, y, diffOptions{context: 3, fromLabel: "a", toLabel: "b"})
	if r.minimal || r.added != 3000 || r.removed != 3000 || r.hunks != 1 {
		t.Fatalf("got %+v", r)
	}
}

// applyUnified applies a unified diff to a text, to check the output format
// end to end.
func applyUnified(t *testing.T, old, diff string) string {
	t.Helper()
	a := splitLines(old)
	var out []string
	lines := strings.SplitAfter(diff, "\n")
	ai := 0
	for i := 2; i < len(lines) && lines[i] != ""; i++ {
		l := lines[i]
		if strings.HasPrefix(l, "@@ ") {
			f := strings.Fields(l)
			start, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(f[1], "-"), ",")[0])
			if !strings.Contains(f[1], ",0") {
				start--
			}
			for ai < start {
				out = append(out, a[ai])
				ai++
			}
			continue
		}
		noNL := i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\\ No newline")
		body := l[1:]
		if noNL {
			body = strings.TrimSuffix(body, "\n")
			i++
		}
		switch l[0] {
		case ' ':
			out = append(out, body)
			ai++
		case '-':
			ai++
		case '+':
			out = append(out, body)
		default:
			t.Fatalf("bad line %q", l)
		}
	}
	out = append(out, a[ai:]...)
	return strings.Join(out, "")
}

func TestUnifiedDiffApplies(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	words := []string{"alpha\n", "beta\n", "gamma\n", "delta\n", "eps"}
	gen := func() string {
		var b strings.Builder
		for range rng.Intn(40) {
			b.WriteString(words[rng.Intn(len(words)-1)])
		}
		if rng.Intn(3) == 0 {
			b.WriteString(words[4])
		}
		return b.String()
	}
	for iter := 0; iter < 300; iter++ {
		a, b := gen(), gen()
		r := unifiedDiff(a, b, diffOptions{context: rng.Intn(4), fromLabel: "a", toLabel: "b"})
		if r.unified == "" {
			if a != b {
				t.Fatalf("no diff for %q vs %q", a, b)
			}
			continue
		}
		if got := applyUnified(t, a, r.unified); got != b {
			t.Fatalf("a=%q b=%q\ndiff:\n%s\napplied: %q", a, b, r.unified, got)
		}
	}
}

// A diff longer than the output cap is cut at a hunk boundary; the counts
// still cover everything.
func TestDiffTruncation(t *testing.T) {
	var a, b strings.Builder
	line := strings.Repeat("z", 200)
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&a, "%d %s\nsame %d\n", i, line, i)
		fmt.Fprintf(&b, "%d %s!\nsame %d\n", i, line, i)
	}
	out, err := diffText(ctx, diffIn{Original: a.String(), Modified: b.String(), Context: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Truncated || len(out.Diff) > maxOutputBytes || out.Added != 2000 || out.Removed != 2000 {
		t.Fatalf("truncated %v, %d bytes, +%d -%d", out.Truncated, len(out.Diff), out.Added, out.Removed)
	}
	if !strings.HasSuffix(out.Diff, "!\n") || out.Hunks >= 2000 || out.Hunks < 100 {
		t.Fatalf("%d hunks, ends %q", out.Hunks, out.Diff[len(out.Diff)-20:])
	}
}

func TestPatienceAnchors(t *testing.T) {
	a := []int{1, 2, 3, 4, 5, 9, 9}
	b := []int{3, 1, 4, 5, 2, 9}
	got := patienceAnchors(a, b)
	// Unique in both: 1,2,3,4,5. Longest chain increasing in both: 1,4,5 or
	// 3,4,5 (both length 3).
	if len(got) != 3 || got[1] != [2]int{3, 2} || got[2] != [2]int{4, 3} {
		t.Fatalf("got %v", got)
	}
	if patienceAnchors([]int{1, 1}, []int{1}) != nil {
		t.Fatal("repeated lines are not anchors")
	}
}

func TestSplitLines(t *testing.T) {
	if got := splitLines("a\nb"); len(got) != 2 || got[1] != "b" {
		t.Fatal(got)
	}
	if got := splitLines("a\n"); len(got) != 1 {
		t.Fatal(got)
	}
	if splitLines("") != nil {
		t.Fatal("empty")
	}
	if got := splitLines("\n\n"); len(got) != 2 {
		t.Fatal(got)
	}
}
