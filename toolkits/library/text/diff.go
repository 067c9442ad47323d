package main

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Line diff: Myers' O(ND) algorithm on line ids, after trimming the common
// prefix and suffix. When the edit distance of a region passes maxEdits (or
// the work passes the budget), the region is split at lines that occur
// exactly once on each side (the anchors of "patience diff") and the pieces
// are diffed again; a piece with no anchors becomes a plain delete+insert.
// Such a diff is still correct (applying it gives the new text) but may not
// be the shortest, and is reported as not minimal.

type op byte

const (
	opEqual  op = ' '
	opDelete op = '-'
	opInsert op = '+'
)

const (
	maxEdits   = 1500       // edit distance Myers may reach in one region
	diffBudget = 20_000_000 // inner-loop steps for one whole diff
)

type differ struct {
	ops     []op
	budget  int
	minimal bool
}

// diffIDs returns the edit script turning a into b.
func diffIDs(a, b []int) ([]op, bool) {
	d := &differ{budget: diffBudget, minimal: true}
	d.diff(a, b)
	return d.ops, d.minimal
}

func (d *differ) emit(o op, n int) {
	for range n {
		d.ops = append(d.ops, o)
	}
}

func (d *differ) diff(a, b []int) {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	d.emit(opEqual, p)
	a, b = a[p:len(a)-s], b[p:len(b)-s]
	switch {
	case len(a) == 0:
		d.emit(opInsert, len(b))
	case len(b) == 0:
		d.emit(opDelete, len(a))
	default:
		if ops, ok := d.myers(a, b); ok {
			d.ops = append(d.ops, ops...)
			break
		}
		d.minimal = false
		anchors := patienceAnchors(a, b)
		if len(anchors) == 0 {
			d.emit(opDelete, len(a))
			d.emit(opInsert, len(b))
			break
		}
		pa, pb := 0, 0
		for _, an := range anchors {
			d.diff(a[pa:an[0]], b[pb:an[1]])
			d.emit(opEqual, 1)
			pa, pb = an[0]+1, an[1]+1
		}
		d.diff(a[pa:], b[pb:])
	}
	d.emit(opEqual, s)
}

// myers finds a shortest edit script, or reports false when it needs more
// than maxEdits edits or the budget runs out.
func (d *differ) myers(a, b []int) ([]op, bool) {
	n, m := len(a), len(b)
	limit := min(n+m, maxEdits)
	off := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int32
	for e := 0; e <= limit; e++ {
		snap := make([]int32, 2*e+3) // v[k] for k in [-e-1, e+1]
		for k := -e - 1; k <= e+1; k++ {
			snap[k+e+1] = int32(v[off+k])
		}
		trace = append(trace, snap)
		for k := -e; k <= e; k += 2 {
			var x int
			if k == -e || k != e && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
				d.budget--
			}
			d.budget--
			if d.budget < 0 {
				return nil, false
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, e, n, m), true
			}
		}
	}
	return nil, false
}

func backtrack(trace [][]int32, end, n, m int) []op {
	var ops []op
	x, y := n, m
	for e := end; e >= 0; e-- {
		snap := trace[e]
		get := func(k int) int { return int(snap[k+e+1]) }
		k := x - y
		prevK := k - 1
		if k == -e || k != e && get(k-1) < get(k+1) {
			prevK = k + 1
		}
		prevX := get(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			ops = append(ops, opEqual)
			x--
			y--
		}
		if e > 0 {
			if x == prevX {
				ops = append(ops, opInsert)
			} else {
				ops = append(ops, opDelete)
			}
		}
		x, y = prevX, prevY
	}
	for i, j := 0, len(ops)-1; i < j; i, j = i+1, j-1 {
		ops[i], ops[j] = ops[j], ops[i]
	}
	return ops
}

// patienceAnchors returns pairs (i, j) with a[i] == b[j], each line unique
// in both a and b, forming the longest chain increasing on both sides.
func patienceAnchors(a, b []int) [][2]int {
	count := map[int][2]int{} // id → occurrences in a, in b
	posB := map[int]int{}
	for _, id := range a {
		c := count[id]
		c[0]++
		count[id] = c
	}
	for j, id := range b {
		c := count[id]
		c[1]++
		count[id] = c
		posB[id] = j
	}
	var cand [][2]int
	for i, id := range a {
		if c := count[id]; c[0] == 1 && c[1] == 1 {
			cand = append(cand, [2]int{i, posB[id]})
		}
	}
	// Longest increasing subsequence on the b positions (patience sorting).
	var tails []int // index into cand of the smallest tail of each length
	prev := make([]int, len(cand))
	for i, c := range cand {
		l := sort.Search(len(tails), func(t int) bool { return cand[tails[t]][1] >= c[1] })
		if l > 0 {
			prev[i] = tails[l-1]
		} else {
			prev[i] = -1
		}
		if l == len(tails) {
			tails = append(tails, i)
		} else {
			tails[l] = i
		}
	}
	if len(tails) == 0 {
		return nil
	}
	out := make([][2]int, len(tails))
	for i, k := len(tails)-1, tails[len(tails)-1]; i >= 0; i, k = i-1, prev[k] {
		out[i] = cand[k]
	}
	return out
}

// splitLines splits text after each newline; the last line may lack one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

type diffOptions struct {
	context          int
	fromLabel        string
	toLabel          string
	ignoreWhitespace bool
	ignoreCase       bool
	maxOutput        int // bytes of unified text before truncation
}

type diffResult struct {
	unified   string
	added     int
	removed   int
	hunks     int
	minimal   bool
	truncated bool
}

// lineKey is what lines are compared by.
func lineKey(line string, o diffOptions) string {
	if o.ignoreWhitespace {
		line = strings.Join(strings.FieldsFunc(line, unicode.IsSpace), " ")
	}
	if o.ignoreCase {
		line = strings.ToLower(line)
	}
	return line
}

// unifiedDiff compares two texts line by line.
func unifiedDiff(from, to string, o diffOptions) diffResult {
	a, b := splitLines(from), splitLines(to)
	ids := map[string]int{}
	idsOf := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			k := lineKey(l, o)
			id, ok := ids[k]
			if !ok {
				id = len(ids)
				ids[k] = id
			}
			out[i] = id
		}
		return out
	}
	ops, minimal := diffIDs(idsOf(a), idsOf(b))
	res := diffResult{minimal: minimal}
	// Entries pair each op with its line numbers (0-based) on each side.
	type entry struct {
		op   op
		a, b int
	}
	entries := make([]entry, len(ops))
	var changes []int
	ai, bi := 0, 0
	for i, o := range ops {
		entries[i] = entry{o, ai, bi}
		switch o {
		case opEqual:
			ai++
			bi++
		case opDelete:
			ai++
			res.removed++
			changes = append(changes, i)
		case opInsert:
			bi++
			res.added++
			changes = append(changes, i)
		}
	}
	if len(changes) == 0 {
		return res
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", o.fromLabel, o.toLabel)
	writeLine := func(prefix op, line string) {
		out.WriteByte(byte(prefix))
		if strings.HasSuffix(line, "\n") {
			out.WriteString(line)
		} else {
			out.WriteString(line)
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
	for c := 0; c < len(changes); {
		// Extend the hunk while the next change is within 2×context lines.
		last := c
		for last+1 < len(changes) && changes[last+1]-changes[last]-1 <= 2*o.context {
			last++
		}
		start := max(changes[c]-o.context, 0)
		end := min(changes[last]+o.context+1, len(entries))
		aCount, bCount := 0, 0
		for _, e := range entries[start:end] {
			if e.op != opInsert {
				aCount++
			}
			if e.op != opDelete {
				bCount++
			}
		}
		var hunk strings.Builder
		fmt.Fprintf(&hunk, "@@ -%s +%s @@\n", hunkRange(entries[start].a, aCount), hunkRange(entries[start].b, bCount))
		mark := out.Len()
		out.WriteString(hunk.String())
		for _, e := range entries[start:end] {
			switch e.op {
			case opInsert:
				writeLine(opInsert, b[e.b])
			case opDelete:
				writeLine(opDelete, a[e.a])
			default:
				writeLine(opEqual, a[e.a])
			}
		}
		if o.maxOutput > 0 && out.Len() > o.maxOutput {
			s := out.String()[:mark]
			out.Reset()
			out.WriteString(s)
			res.truncated = true
			break
		}
		res.hunks++
		c = last + 1
	}
	res.unified = out.String()
	return res
}

// hunkRange formats a hunk's start line (1-based) and length as unified
// diffs do: "3" for one line, "3,4" otherwise, and the line before an empty
// range.
func hunkRange(start0, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start0)
	case 1:
		return fmt.Sprintf("%d", start0+1)
	}
	return fmt.Sprintf("%d,%d", start0+1, count)
}
