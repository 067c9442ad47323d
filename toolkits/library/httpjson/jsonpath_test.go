package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kilnhq/kiln/toolkits/go/jsondoc"
	"strings"
	"testing"
)

const storeDoc = `{ "store": {
    "book": [
      { "category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95 },
      { "category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99 },
      { "category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99 },
      { "category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99 }
    ],
    "bicycle": { "color": "red", "price": 399 }
  }
}`

// filterDoc is the example document of RFC 9535 section 2.3.5.3.
const filterDoc = `{"a": [3, 5, 1, 2, 4, 6, {"b": "j"}, {"b": "k"}, {"b": {}}, {"b": "kilo"}],
  "o": {"p": 1, "q": 2, "r": 3, "s": 5, "t": {"u": 6}}, "e": "f"}`

const sliceDoc = `["a", "b", "c", "d", "e", "f", "g"]`

// run evaluates path on doc and returns the values as compact JSON and the
// normalized paths.
func run(t *testing.T, doc, path string) ([]string, []string) {
	t.Helper()
	q, err := parsePath(path)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	d, err := jsondoc.Decode([]byte(doc))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	nodes, err := selectNodes(q, d)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var vals, paths []string
	for _, n := range nodes {
		b, err := json.Marshal(n.v)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, string(b))
		paths = append(paths, n.path())
	}
	return vals, paths
}

func TestSelectValues(t *testing.T) {
	cases := []struct {
		doc, path string
		want      []string
	}{
		{storeDoc, "$.store.book[*].author", []string{`"Nigel Rees"`, `"Evelyn Waugh"`, `"Herman Melville"`, `"J. R. R. Tolkien"`}},
		{storeDoc, "$..author", []string{`"Nigel Rees"`, `"Evelyn Waugh"`, `"Herman Melville"`, `"J. R. R. Tolkien"`}},
		{storeDoc, "$.store..price", []string{"8.95", "12.99", "8.99", "22.99", "399"}},
		{storeDoc, "$..book[2].title", []string{`"Moby Dick"`}},
		{storeDoc, "$..book[-1].title", []string{`"The Lord of the Rings"`}},
		{storeDoc, "$..book[0,1].title", []string{`"Sayings of the Century"`, `"Sword of Honour"`}},
		{storeDoc, "$..book[:2].title", []string{`"Sayings of the Century"`, `"Sword of Honour"`}},
		{storeDoc, "$..book[?@.isbn].title", []string{`"Moby Dick"`, `"The Lord of the Rings"`}},
		{storeDoc, "$..book[?@.price<10].title", []string{`"Sayings of the Century"`, `"Moby Dick"`}},
		{storeDoc, "$..book[?(@.price < 10)].title", []string{`"Sayings of the Century"`, `"Moby Dick"`}},
		{storeDoc, "$.store.book[?@.category=='fiction' && @.price > 20].author", []string{`"J. R. R. Tolkien"`}},
		{storeDoc, "$['store']['bicycle']['color']", []string{`"red"`}},
		{storeDoc, `$["store"].bicycle`, []string{`{"color":"red","price":399}`}},
		{storeDoc, "$.store.bicycle.*", []string{`"red"`, "399"}},
		{storeDoc, "$.store.missing", nil},
		{storeDoc, "$.store.book.title", nil}, // a name on an array selects nothing
		{storeDoc, "$.store.bicycle[0]", nil}, // an index on an object selects nothing
		{storeDoc, "$..book[?@.price > $.store.bicycle.price]", nil},
		{storeDoc, "$..book[?@.author == 'Evelyn Waugh'].price", []string{"12.99"}},
		{storeDoc, `$..[?@.color=="red"].price`, []string{"399"}},
		{sliceDoc, "$[1:3]", []string{`"b"`, `"c"`}},
		{sliceDoc, "$[5:]", []string{`"f"`, `"g"`}},
		{sliceDoc, "$[1:5:2]", []string{`"b"`, `"d"`}},
		{sliceDoc, "$[5:1:-2]", []string{`"f"`, `"d"`}},
		{sliceDoc, "$[::-1]", []string{`"g"`, `"f"`, `"e"`, `"d"`, `"c"`, `"b"`, `"a"`}},
		{sliceDoc, "$[-2:]", []string{`"f"`, `"g"`}},
		{sliceDoc, "$[:-5]", []string{`"a"`, `"b"`}},
		{sliceDoc, "$[0:100]", []string{`"a"`, `"b"`, `"c"`, `"d"`, `"e"`, `"f"`, `"g"`}},
		{sliceDoc, "$[1:1]", nil},
		{sliceDoc, "$[::0]", nil},
		{sliceDoc, "$[ 1 : 3 ]", []string{`"b"`, `"c"`}},
		{sliceDoc, "$[7]", nil},
		{sliceDoc, "$[-8]", nil},
		{sliceDoc, "$[-7]", []string{`"a"`}},
		{sliceDoc, "$[0, 0]", []string{`"a"`, `"a"`}},
		{filterDoc, "$.a[?@.b == 'kilo']", []string{`{"b":"kilo"}`}},
		{filterDoc, "$.a[?(@.b == 'kilo')]", []string{`{"b":"kilo"}`}},
		{filterDoc, "$.a[?@>3.5]", []string{"5", "4", "6"}},
		{filterDoc, "$.a[?@.b]", []string{`{"b":"j"}`, `{"b":"k"}`, `{"b":{}}`, `{"b":"kilo"}`}},
		{filterDoc, "$[?@.*]", []string{`[3,5,1,2,4,6,{"b":"j"},{"b":"k"},{"b":{}},{"b":"kilo"}]`, `{"p":1,"q":2,"r":3,"s":5,"t":{"u":6}}`}},
		{filterDoc, "$.o[?@<3, ?@<3]", []string{"1", "2", "1", "2"}},
		{filterDoc, `$.a[?@<2 || @.b == "k"]`, []string{"1", `{"b":"k"}`}},
		{filterDoc, "$.o[?@>1 && @<4]", []string{"2", "3"}},
		{filterDoc, "$.o[?@.u || @.x]", []string{`{"u":6}`}},
		{filterDoc, "$.a[?@.b == $.x]", []string{"3", "5", "1", "2", "4", "6"}},
		{filterDoc, "$.a[?!@.b]", []string{"3", "5", "1", "2", "4", "6"}},
		{filterDoc, "$.a[?!(@ < 5)]", []string{"5", "6", `{"b":"j"}`, `{"b":"k"}`, `{"b":{}}`, `{"b":"kilo"}`}},
		{filterDoc, "$.a[?@ == 2]", []string{"2"}},
		{filterDoc, "$.a[?@ == 2.0]", []string{"2"}},
		{filterDoc, "$.a[?@ >= 5]", []string{"5", "6"}},
		{filterDoc, "$.a[?@ <= 1]", []string{"1"}},
		{filterDoc, "$.a[?@ != 3 && @ < 4]", []string{"1", "2"}},
		{filterDoc, "$.a[?@.b > 'j']", []string{`{"b":"k"}`, `{"b":"kilo"}`}},
		{filterDoc, "$.a[?1 <= 2]", []string{"3", "5", "1", "2", "4", "6", `{"b":"j"}`, `{"b":"k"}`, `{"b":{}}`, `{"b":"kilo"}`}},
		{filterDoc, "$.a[?'13' == 13]", nil},
		{filterDoc, "$.o[?@ == $.o.p]", []string{"1"}},
		{filterDoc, "$.o.t[?@ == 6]", []string{"6"}},
		{filterDoc, "$.a[?@.b == @.b]", []string{"3", "5", "1", "2", "4", "6", `{"b":"j"}`, `{"b":"k"}`, `{"b":{}}`, `{"b":"kilo"}`}},
		{`{"x":[{"v":null},{"v":false},{"v":true},{}]}`, "$.x[?@.v == null]", []string{`{"v":null}`}},
		{`{"x":[{"v":null},{"v":false},{"v":true},{}]}`, "$.x[?@.v == false]", []string{`{"v":false}`}},
		{`{"x":[{"v":[1,2]},{"v":[1,2,3]}]}`, "$.x[?@.v == $.x[0].v]", []string{`{"v":[1,2]}`}},
		{`{"a b":1,"it's":2,"é":3,"😀":4,"x\"y":5}`, "$['a b']", []string{"1"}},
		{`{"a b":1,"it's":2,"é":3,"😀":4,"x\"y":5}`, `$["it's"]`, []string{"2"}},
		{`{"a b":1,"it's":2,"é":3,"😀":4,"x\"y":5}`, `$['it\'s']`, []string{"2"}},
		{`{"a b":1,"it's":2,"é":3,"😀":4,"x\"y":5}`, `$.é`, []string{"3"}},
		{`{"a b":1,"it's":2,"é":3,"😀":4,"x\"y":5}`, `$['\u00e9']`, []string{"3"}},
		{`{"a b":1,"it's":2,"é":3,"😀":4,"x\"y":5}`, `$['\uD83D\uDE00']`, []string{"4"}},
		{`{"a b":1,"it's":2,"é":3,"😀":4,"x\"y":5}`, `$["x\"y"]`, []string{"5"}},
		{`{"a":{"a":{"a":1}}}`, "$..a", []string{`{"a":{"a":1}}`, `{"a":1}`, "1"}},
		{`[[1,2],[3]]`, "$..[0]", []string{"[1,2]", "1", "3"}},
		{`[[1,2],[3]]`, "$..*", []string{"[1,2]", "[3]", "1", "2", "3"}}, // RFC 9535 order
		{`{"k":"v"}`, "$", []string{`{"k":"v"}`}},
		{`42`, "$", []string{"42"}},
		{`42`, "$.a", nil},
		{`{"_id":1,"a1":2}`, "$._id", []string{"1"}},
		{`{"_id":1,"a1":2}`, "$.a1", []string{"2"}},
	}
	for _, c := range cases {
		got, _ := run(t, c.doc, c.path)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s\n got %v\nwant %v", c.path, got, c.want)
		}
	}
}

func TestDescendantCount(t *testing.T) {
	// RFC 9535's example: $..* on the store document selects 27 nodes.
	got, _ := run(t, storeDoc, "$..*")
	if len(got) != 27 {
		t.Fatalf("$..* selected %d nodes, want 27", len(got))
	}
}

func TestNormalizedPaths(t *testing.T) {
	_, paths := run(t, storeDoc, "$..book[?@.isbn].title")
	want := []string{"$['store']['book'][2]['title']", "$['store']['book'][3]['title']"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v", paths)
	}
	_, paths = run(t, `{"it's":{"a\\b\n":[0,1]}}`, "$.*.*[-1]")
	if paths[0] != `$['it\'s']['a\\b\n'][1]` {
		t.Fatalf("got %s", paths[0])
	}
	_, paths = run(t, `{"\u0001":1}`, "$.*")
	if paths[0] != `$['\u0001']` {
		t.Fatalf("got %s", paths[0])
	}
	_, paths = run(t, `[1]`, "$")
	if paths[0] != "$" {
		t.Fatalf("got %s", paths[0])
	}
}

func TestComparisonSemantics(t *testing.T) {
	// RFC 9535 section 2.3.5.3's comparison table, evaluated as filters on
	// a one-element array: the element is selected when the comparison holds.
	doc := `{"obj": {"x": "y"}, "arr": [2, 3], "one": [1]}`
	cases := map[string]bool{
		"$.absent1 == $.absent2": true,
		"$.absent1 <= $.absent2": true,
		"$.absent == 'g'":        false,
		"$.absent1 != $.absent2": false,
		"$.absent != 'g'":        true,
		"1 <= 2":                 true,
		"1 > 2":                  false,
		"13 == '13'":             false,
		"'a' <= 'b'":             true,
		"'a' > 'b'":              false,
		"$.obj == $.arr":         false,
		"$.obj != $.arr":         true,
		"$.obj == $.obj":         true,
		"$.obj != $.obj":         false,
		"$.arr == $.arr":         true,
		"$.arr != $.arr":         false,
		"$.obj == 17":            false,
		"$.obj != 17":            true,
		"$.obj <= $.arr":         false,
		"$.obj < $.arr":          false,
		"$.obj <= $.obj":         true,
		"$.arr <= $.arr":         true,
		"1 <= $.arr":             false,
		"1 >= $.arr":             false,
		"1 > $.arr":              false,
		"1 < $.arr":              false,
		"true <= true":           true,
		"true > true":            false,
		"null == null":           true,
		"1e2 == 100":             true,
		"-1 < 0":                 true,
	}
	for expr, want := range cases {
		got, _ := run(t, doc, "$.one[?"+expr+"]")
		if (len(got) == 1) != want {
			t.Errorf("%s: got %v, want %v", expr, len(got) == 1, want)
		}
	}
}

func TestPathErrors(t *testing.T) {
	cases := []struct {
		path string
		pos  int // 1-based character
		msg  string
	}{
		{"", 1, "empty"},
		{"store.book", 1, "starts with $"},
		{".store", 1, "starts with $"},
		{"$.store.[0]", 8, "remove the '.'"},
		{"$.a.0", 5, "array indexes go in brackets"},
		{"$.a-b", 4, "quote names"},
		{"$.", 3, "ends too early"},
		{"$..", 4, "after '..'"},
		{"$ .a", 2, "unexpected ' '"},
		{"$a", 2, "expected '.', '..' or '['"},
		{"$[]", 2, "empty brackets"},
		{"$[abc]", 3, "must be quoted"},
		{"$.a[1", 4, "never closed"},
		{"$.a[1 2]", 7, "expected ',' or ']'"},
		{"$['abc", 3, "never closed"},
		{"$['a\\qb']", 5, "unknown escape"},
		{"$['a\\\"b']", 5, "only valid inside"},
		{"$['\\u12']", 4, "four hex digits"},
		{"$['\\uD83D']", 4, "surrogate"},
		{"$[01]", 3, "leading zeros"},
		{"$[-0]", 3, "-0"},
		{"$[-]", 3, "digits after '-'"},
		{"$[9007199254740992]", 3, "out of range"},
		{"$[1:2:3:4]", 8, "at most three parts"},
		{"$[(@.length-1)]", 3, "script expressions"},
		{"$[?@.a = 1]", 8, "use =="},
		{"$[?@.a & @.b]", 8, "use &&"},
		{"$[?@.a | @.b]", 8, "use ||"},
		{"$[?length(@) > 1]", 4, "functions"},
		{"$[?@.a == red]", 11, "strings must be quoted"},
		{"$[?@.* == 1]", 4, "single-value"},
		{"$[?1 == @..a]", 9, "single-value"},
		{"$[?!@.a == 1]", 4, "use parentheses"},
		{"$[?!1]", 5, "'!' applies"},
		{"$[?(@.a]", 8, "expected ')'"},
		{"$[?(@.a", 4, "never closed"},
		{"$[?'x']", 4, "a literal alone"},
		{"$[?@.a == 01]", 11, "leading zeros"},
		{"$[?@.a == 1.]", 11, "after the decimal point"},
		{"$[?@.a == 1e]", 11, "exponent"},
		{"$[?@.a == 1e999]", 11, "out of range"},
		{"$[?@.a == ]", 11, "expected @, $"},
		{"$['a\u0001']", 5, "control characters"},
		{"$" + strings.Repeat(".a", 3000), 4097, "longer than"},
	}
	for _, c := range cases {
		_, err := parsePath(c.path)
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a PathError", c.path, err)
			continue
		}
		if pe.Pos+1 != c.pos || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("%q: got character %d %q; want %d containing %q", c.path, pe.Pos+1, pe.Msg, c.pos, c.msg)
		}
	}
}

func TestPathErrorMessage(t *testing.T) {
	_, err := parsePath("$.store.[0]")
	want := "invalid JSONPath at character 8: remove the '.' before '[': write $.a['b'] or $.a[0], not $.a.['b']\n  $.store.[0]\n         ^"
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
}

func TestFilterNestingLimit(t *testing.T) {
	deep := "$[?" + strings.Repeat("(", 40) + "@" + strings.Repeat(")", 40) + "]"
	if _, err := parsePath(deep); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("got %v", err)
	}
	ok := "$[?" + strings.Repeat("(", 10) + "@" + strings.Repeat(")", 10) + "]"
	if _, err := parsePath(ok); err != nil {
		t.Fatal(err)
	}
}

func TestNestedFilter(t *testing.T) {
	doc := `{"teams":[{"name":"a","members":[{"age":30}]},{"name":"b","members":[{"age":50}]}]}`
	got, _ := run(t, doc, "$.teams[?@.members[?@.age > 40]].name")
	if strings.Join(got, ",") != `"b"` {
		t.Fatalf("got %v", got)
	}
}

func TestNodeCap(t *testing.T) {
	// 500 × 500 elements: $[*][*] selects 250 000 > maxNodes.
	row := "[" + strings.TrimSuffix(strings.Repeat("0,", 500), ",") + "]"
	doc := "[" + strings.TrimSuffix(strings.Repeat(row+",", 500), ",") + "]"
	q, _ := parsePath("$[*][*]")
	d, err := jsondoc.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := selectNodes(q, d); err == nil || !strings.Contains(err.Error(), "narrower path") {
		t.Fatalf("got %v", err)
	}
	q, _ = parsePath("$[*][0]")
	if nodes, err := selectNodes(q, d); err != nil || len(nodes) != 500 {
		t.Fatalf("got %d, %v", len(nodes), err)
	}
}

func TestDecodeJSON(t *testing.T) {
	v, err := jsondoc.Decode([]byte(`{"z":1,"a":{"y":[true,null,"s"],"b":2.50},"z":3}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	// Order kept, the repeated "z" keeps its first position and last value,
	// numbers keep their text.
	if string(b) != `{"z":3,"a":{"y":[true,null,"s"],"b":2.50}}` {
		t.Fatalf("got %s", b)
	}
	for _, bad := range []string{``, `{`, `{"a":}`, `[1,]`, `{"a":1} x`, `{"a":1}{}`, `nul`, `{1:2}`} {
		if _, err := jsondoc.Decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
	deep := strings.Repeat("[", jsondoc.MaxDepth+1) + strings.Repeat("]", jsondoc.MaxDepth+1)
	if _, err := jsondoc.Decode([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep: got %v", err)
	}
	ok := strings.Repeat("[", jsondoc.MaxDepth-1) + strings.Repeat("]", jsondoc.MaxDepth-1)
	if _, err := jsondoc.Decode([]byte(ok)); err != nil {
		t.Errorf("ok depth: %v", err)
	}
	if v, err := jsondoc.Decode([]byte(" \n\"x\" ")); err != nil || v != "x" {
		t.Errorf("scalar: %v %v", v, err)
	}
}

func TestSliceIndexes(t *testing.T) {
	p := func(v int) *int { return &v }
	cases := []struct {
		parts [3]*int
		n     int
		want  []int
	}{
		{[3]*int{nil, nil, nil}, 3, []int{0, 1, 2}},
		{[3]*int{nil, nil, p(-1)}, 3, []int{2, 1, 0}},
		{[3]*int{p(-1), nil, p(-1)}, 3, []int{2, 1, 0}},
		{[3]*int{p(10), p(-10), p(-1)}, 3, []int{2, 1, 0}},
		{[3]*int{p(-10), p(10), p(2)}, 5, []int{0, 2, 4}},
		{[3]*int{p(1), p(0), nil}, 5, nil},
		{[3]*int{nil, nil, nil}, 0, nil},
		{[3]*int{nil, nil, p(-2)}, 0, nil},
		{[3]*int{p(maxInt), p(-maxInt), p(-maxInt)}, 4, []int{3}},
	}
	for _, c := range cases {
		got := sliceIndexes(c.parts, c.n)
		if len(got) != len(c.want) {
			t.Errorf("%v n=%d: got %v want %v", c.parts, c.n, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%v n=%d: got %v want %v", c.parts, c.n, got, c.want)
				break
			}
		}
	}
}

// The hand-written parser and encoder agree with encoding/json.
func TestJSONParserMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`{"a":[1,-2.5e+3,0.0,true,false,null,"x"],"b":{"c":{}},"d":[]}`,
		`"esc: \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \u2028 \u0001"`,
		`["\ud800", "\udc00x", "<&>"]`,
		" \n\t[ 1 , { \"k\" : [ ] } ]\r\n",
		`"` + "caf\xc3\xa9 \xff bad" + `"`,
		`-0`, `1E5`, `123456789012345678901234567890`,
	}
	for _, d := range docs {
		v, err := jsondoc.Decode([]byte(d))
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		mine := jsondoc.Append(nil, v)
		var a, b any
		if err := json.Unmarshal(mine, &a); err != nil {
			t.Errorf("%s: re-encoded %s is not JSON: %v", d, mine, err)
			continue
		}
		json.Unmarshal([]byte(d), &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s:\n mine %s\n std  %s", d, ja, jb)
		}
	}
	for _, bad := range []string{`{"a" 1}`, `{"a":1,}`, `[1 2]`, `"abc`, `"a\x"`, `"\u12"`, "\"a\x01\"", `01`, `1.`, `1e`, `-`, `tru`, `nul`, `{"a":1]`, `[`, `{`} {
		if _, err := jsondoc.Decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
	// Strings encode like encoding/json (apart from its HTML escaping).
	for _, s := range []string{"plain", "q\"b\\s", "ctl\x00\x1f\n\r\t", "é😀", "\u2028\u2029", "<&>"} {
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		want := strings.TrimSuffix(buf.String(), "\n")
		want = strings.NewReplacer(`\u0008`, `\u0008`, `\u000c`, `\u000c`).Replace(want)
		if got := string(jsondoc.AppendString(nil, s)); got != want {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func TestLargeObjects(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 20 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"k3":"again","k19":null}`)
	v, err := jsondoc.Decode([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*jsondoc.Object)
	if len(o.Keys) != 20 {
		t.Fatalf("%d keys", len(o.Keys))
	}
	if x, _ := o.Get("k3"); x != "again" || o.Keys[3] != "k3" {
		t.Fatalf("k3 = %v", x)
	}
	if x, ok := o.Get("k19"); !ok || x != nil {
		t.Fatalf("k19 = %v %v", x, ok)
	}
	if _, ok := o.Get("k20"); ok {
		t.Fatal("k20 found")
	}
	got, _ := run(t, b.String(), "$.k12")
	if strings.Join(got, "") != "12" {
		t.Fatalf("got %v", got)
	}
	// Equality of objects ignores member order.
	got, _ = run(t, `{"a":{"x":1,"y":2},"b":[{"y":2,"x":1}]}`, "$.b[?@ == $.a]")
	if len(got) != 1 {
		t.Fatalf("got %v", got)
	}
}
