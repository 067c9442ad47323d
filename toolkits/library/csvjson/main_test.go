package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var ctx = context.Background()

const people = `name,age,city,zip,member
Ada,36,London,01234,true
Grace,85,New York,10001,FALSE
Linus,,Helsinki,00100,
"Smith, Jo",7.5,"Paris",75001,true
`

func rowsText(rows []json.RawMessage) string {
	var s []string
	for _, r := range rows {
		s = append(s, string(r))
	}
	return strings.Join(s, "\n")
}

func boolp(b bool) *bool { return &b }

func TestCSVToJSON(t *testing.T) {
	out, err := csvToJSON(ctx, toJSONIn{CSV: people})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"Ada","age":36,"city":"London","zip":"01234","member":true}
{"name":"Grace","age":85,"city":"New York","zip":10001,"member":false}
{"name":"Linus","age":null,"city":"Helsinki","zip":"00100","member":null}
{"name":"Smith, Jo","age":7.5,"city":"Paris","zip":75001,"member":true}`
	if got := rowsText(out.Rows); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if out.RowCount != 4 || out.Matched != 4 || out.Truncated || out.Delimiter != "," ||
		!reflect.DeepEqual(out.Columns, []string{"name", "age", "city", "zip", "member"}) {
		t.Fatalf("got %+v", out)
	}
	// Every row is valid JSON.
	for _, r := range out.Rows {
		if !json.Valid(r) {
			t.Fatalf("invalid JSON %s", r)
		}
	}

	// No inference, arrays, selected and reordered columns.
	out, err = csvToJSON(ctx, toJSONIn{CSV: people, InferTypes: boolp(false), Format: "arrays", Columns: []string{"zip", "NAME", "#2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsText(out.Rows[:2]); got != `["01234","Ada","36"]`+"\n"+`["10001","Grace","85"]` {
		t.Fatalf("got %s", got)
	}
	if !reflect.DeepEqual(out.Columns, []string{"zip", "name", "age"}) {
		t.Fatalf("columns %v", out.Columns)
	}
}

func TestCSVToJSONFiltersAndPaging(t *testing.T) {
	cases := []struct {
		where    []filter
		any      bool
		wantName []string
	}{
		{[]filter{{Column: "age", Op: "gt", Value: json.RawMessage("30")}}, false, []string{"Ada", "Grace"}},
		{[]filter{{Column: "age", Op: "lt", Value: json.RawMessage(`"10"`)}}, false, []string{"Smith, Jo"}},
		{[]filter{{Column: "age", Op: "empty"}}, false, []string{"Linus"}},
		{[]filter{{Column: "member", Op: "eq", Value: json.RawMessage(`"true"`), IgnoreCase: true}}, false, []string{"Ada", "Smith, Jo"}},
		{[]filter{{Column: "city", Op: "contains", Value: json.RawMessage(`"on"`)}}, false, []string{"Ada"}},
		{[]filter{{Column: "city", Op: "starts_with", Value: json.RawMessage(`"new"`), IgnoreCase: true}}, false, []string{"Grace"}},
		{[]filter{{Column: "city", Op: "ends_with", Value: json.RawMessage(`"ki"`)}}, false, []string{"Linus"}},
		{[]filter{{Column: "city", Op: "not_contains", Value: json.RawMessage(`"o"`)}}, false, []string{"Linus", "Smith, Jo"}},
		{[]filter{{Column: "name", Op: "regex", Value: json.RawMessage(`"^[AG]"`)}}, false, []string{"Ada", "Grace"}},
		{[]filter{{Column: "zip", Op: "eq", Value: json.RawMessage("100")}}, false, []string{"Linus"}}, // 00100 == 100 numerically
		{[]filter{{Column: "zip", Op: "eq", Value: json.RawMessage(`"00100"`)}}, false, []string{"Linus"}},
		{[]filter{{Column: "name", Op: "ge", Value: json.RawMessage(`"L"`)}}, false, []string{"Linus", "Smith, Jo"}},
		{[]filter{{Column: "age", Op: "gt", Value: json.RawMessage("50")}, {Column: "city", Op: "eq", Value: json.RawMessage(`"Paris"`)}}, true, []string{"Grace", "Smith, Jo"}},
		{[]filter{{Column: "age", Op: "not_empty"}, {Column: "member", Op: "ne", Value: json.RawMessage(`"true"`)}}, false, []string{"Grace"}},
	}
	for _, c := range cases {
		out, err := csvToJSON(ctx, toJSONIn{CSV: people, Where: c.where, MatchAny: c.any, Columns: []string{"name"}, Format: "arrays"})
		if err != nil {
			t.Errorf("%+v: %v", c.where, err)
			continue
		}
		var got []string
		for _, r := range out.Rows {
			var v []string
			json.Unmarshal(r, &v)
			got = append(got, v[0])
		}
		if !reflect.DeepEqual(got, c.wantName) || out.Matched != len(c.wantName) {
			t.Errorf("%s: got %v (matched %d), want %v", c.where[0].Op, got, out.Matched, c.wantName)
		}
	}
	out, _ := csvToJSON(ctx, toJSONIn{CSV: people, Offset: 1, Limit: 2, Columns: []string{"name"}})
	if rowsText(out.Rows) != `{"name":"Grace"}`+"\n"+`{"name":"Linus"}` || !out.Truncated || out.Matched != 4 {
		t.Fatalf("got %+v", out)
	}
	out, _ = csvToJSON(ctx, toJSONIn{CSV: people, Offset: 10})
	if out.RowCount != 0 || out.Truncated || out.Rows == nil {
		t.Fatalf("got %+v", out)
	}
}

func TestCSVToJSONOutputCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,text\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "%d,%s\n", i, strings.Repeat("x", 200))
	}
	out, err := csvToJSON(ctx, toJSONIn{CSV: b.String(), Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Truncated || out.RowCount >= 3000 || out.RowCount < 300 || out.Matched != 3000 {
		t.Fatalf("rows %d truncated %v", out.RowCount, out.Truncated)
	}
	size := 0
	for _, r := range out.Rows {
		size += len(r)
	}
	if size > maxOutputBytes {
		t.Fatalf("%d bytes", size)
	}
}

func TestReadOptions(t *testing.T) {
	cases := []struct {
		csv   string
		opts  readArgs
		want  string
		delim string
	}{
		{"a;b\n1;2\n", readArgs{}, `{"a":1,"b":2}`, ";"},
		{"a\tb\n1\t2\n", readArgs{}, `{"a":1,"b":2}`, "\t"},
		{"a|b\n1|2\n", readArgs{}, `{"a":1,"b":2}`, "|"},
		{"a;b\n1;2\n", readArgs{Delimiter: ";"}, `{"a":1,"b":2}`, ";"},
		{"a\tb\n1\t2\n", readArgs{Delimiter: "tab"}, `{"a":1,"b":2}`, "\t"},
		{"a\tb\n1\t2\n", readArgs{Delimiter: `\t`}, `{"a":1,"b":2}`, "\t"},
		{"1,2\n3,4\n", readArgs{Header: boolp(false)}, `{"column1":1,"column2":2}` + "\n" + `{"column1":3,"column2":4}`, ","},
		{"\uFEFFa,b\n1,2\n", readArgs{}, `{"a":1,"b":2}`, ","},
		{"a,b\n 1 , x \n", readArgs{TrimSpace: true}, `{"a":1,"b":"x"}`, ","},
		{"a,b\n 1 , x \n", readArgs{}, `{"a":1,"b":" x "}`, ","},
		{"# comment\na,b\n1,2\n", readArgs{Comment: "#"}, `{"a":1,"b":2}`, ","},
		{"a,b\n1,2\n\n3,4\n", readArgs{}, `{"a":1,"b":2}` + "\n" + `{"a":3,"b":4}`, ","},
		{"a,b\n1\n3,4,5\n", readArgs{Ragged: true}, `{"a":1,"b":null,"column3":null}` + "\n" + `{"a":3,"b":4,"column3":5}`, ","},
		{"a,a,,b\n1,2,3,4\n", readArgs{}, `{"a":1,"a_2":2,"column3":3,"b":4}`, ","},
		{"a,b\r\n1,\"x\ny\"\r\n", readArgs{}, `{"a":1,"b":"x\ny"}`, ","},
		{`a,b` + "\n" + `1,x"y` + "\n", readArgs{LazyQuotes: true}, `{"a":1,"b":"x\"y"}`, ","},
	}
	for _, c := range cases {
		out, err := csvToJSON(ctx, toJSONIn{CSV: c.csv, ReadOptions: c.opts})
		if err != nil {
			t.Errorf("%q: %v", c.csv, err)
			continue
		}
		if got := rowsText(out.Rows); got != c.want || out.Delimiter != c.delim {
			t.Errorf("%q: got %s (delimiter %q), want %s (%q)", c.csv, got, out.Delimiter, c.want, c.delim)
		}
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct {
		in   toJSONIn
		want string
	}{
		{toJSONIn{CSV: ""}, "empty"},
		{toJSONIn{CSV: "\n\n"}, "empty"},
		{toJSONIn{CSV: "a,b\n1,2,3\n"}, "line 2 has 3 fields, but the header has 2; set ragged: true"},
		{toJSONIn{CSV: "a,b\n1,x\"y\n"}, "CSV line 2, column 4: bare \" in non-quoted-field (set lazyQuotes: true"},
		{toJSONIn{CSV: "a,b\n1,\"open\n"}, "extraneous or missing \" in quoted-field"},
		{toJSONIn{CSV: "a\n\xff\n"}, "UTF-8"},
		{toJSONIn{CSV: strings.Repeat("x", maxInputBytes+1)}, "at most 2 MiB"},
		{toJSONIn{CSV: "a\n1\n", ReadOptions: readArgs{Delimiter: "::"}}, "one character"},
		{toJSONIn{CSV: "a\n1\n", ReadOptions: readArgs{Delimiter: `"`}}, "one character"},
		{toJSONIn{CSV: "a\n1\n", ReadOptions: readArgs{Delimiter: ",", Comment: ","}}, "other than the delimiter"},
		{toJSONIn{CSV: "a\n1\n", Columns: []string{"b"}}, `no column "b"; the columns are "a"`},
		{toJSONIn{CSV: "a\n1\n", Columns: []string{"#2"}}, `no column "#2"`},
		{toJSONIn{CSV: "a\n1\n", Where: []filter{{Column: "a", Op: "eq"}}}, "needs a value"},
		{toJSONIn{CSV: "a\n1\n", Where: []filter{{Column: "a", Op: "like", Value: json.RawMessage(`"x"`)}}}, "unknown op"},
		{toJSONIn{CSV: "a\n1\n", Where: []filter{{Column: "a", Op: "regex", Value: json.RawMessage(`"("`)}}}, "invalid pattern"},
		{toJSONIn{CSV: "a\n1\n", Where: []filter{{Column: "a", Op: "eq", Value: json.RawMessage(`[1]`)}}}, "string or a number"},
		{toJSONIn{CSV: "a\n1\n", Format: "xml"}, "unknown format"},
		{toJSONIn{CSV: "a\n1\n", Limit: -1}, "limit"},
		{toJSONIn{CSV: "a\n1\n", Offset: -1}, "offset"},
		{toJSONIn{CSV: strings.Repeat("a,", maxColumns) + "a\n"}, "at most 1000 columns"},
	}
	for _, c := range cases {
		_, err := csvToJSON(ctx, c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: got %v, want %q", c.in.CSV, err, c.want)
		}
	}
	var many strings.Builder
	many.WriteString("a\n")
	for range maxRows + 1 {
		many.WriteString("1\n")
	}
	if _, err := csvToJSON(ctx, toJSONIn{CSV: many.String()}); err == nil || !strings.Contains(err.Error(), "more than 100000 rows") {
		t.Errorf("got %v", err)
	}
}

func TestInferJSON(t *testing.T) {
	cases := map[string]string{
		"": "null", "  ": "null", "0": "0", "-12": "-12", "007": `"007"`, "+5": `"+5"`, "1.50": "1.50",
		"1e3": "1e3", "-0.5E-2": "-0.5E-2", ".5": `".5"`, "5.": `"5."`, "1,000": `"1,000"`, "TRUE": "true",
		"False": "false", "yes": `"yes"`, "NaN": `"NaN"`, "Infinity": `"Infinity"`, "0x10": `"0x10"`,
		"9007199254740991": "9007199254740991", "9007199254740992": `"9007199254740992"`, " 42 ": "42",
		"1e999": `"1e999"`, `say "hi"`: `"say \"hi\""`,
	}
	for in, want := range cases {
		if got := string(inferJSON(in)); got != want {
			t.Errorf("inferJSON(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestJSONToCSV(t *testing.T) {
	data := `[{"name":"Ada","age":36,"tags":["x","y"],"address":{"city":"London","geo":{"lat":51.5}}},
	          {"name":"Jo, Jr.","active":true,"age":null,"note":"said \"hi\"\nbye"}]`
	out, err := jsonToCSV(ctx, toCSVIn{Data: json.RawMessage(data)})
	if err != nil {
		t.Fatal(err)
	}
	want := "name,age,tags,address,active,note\n" +
		`Ada,36,"[""x"",""y""]","{""city"":""London"",""geo"":{""lat"":51.5}}",,` + "\n" +
		`"Jo, Jr.",,,,true,"said ""hi""` + "\nbye\"\n"
	if out.CSV != want || out.RowCount != 2 || out.Truncated {
		t.Fatalf("got\n%s\nwant\n%s", out.CSV, want)
	}
	out, _ = jsonToCSV(ctx, toCSVIn{DataText: data, Flatten: true, Columns: []string{"name", "address.city", "address.geo.lat"}, Delimiter: ";", CRLF: true})
	if out.CSV != "name;address.city;address.geo.lat\r\nAda;London;51.5\r\nJo, Jr.;;\r\n" {
		t.Fatalf("got %q", out.CSV)
	}
	out, _ = jsonToCSV(ctx, toCSVIn{DataText: data, Flatten: true})
	if !reflect.DeepEqual(out.Columns, []string{"name", "age", "tags", "address.city", "address.geo.lat", "active", "note"}) {
		t.Fatalf("columns %v", out.Columns)
	}
	// Arrays of arrays, no header.
	out, _ = jsonToCSV(ctx, toCSVIn{Data: json.RawMessage(`[[1,"a"],[2,null,true]]`)})
	if out.CSV != "1,a\n2,,true\n" {
		t.Fatalf("got %q", out.CSV)
	}
	out, _ = jsonToCSV(ctx, toCSVIn{Data: json.RawMessage(`[[1,"a"]]`), Columns: []string{"n", "s"}})
	if out.CSV != "n,s\n1,a\n" {
		t.Fatalf("got %q", out.CSV)
	}
	// One object; no header; formula escaping; numbers keep their text.
	out, _ = jsonToCSV(ctx, toCSVIn{Data: json.RawMessage(`{"f":"=SUM(A1:A9)","n":-5,"big":12345678901234567890,"at":"@x"}`), Header: boolp(false), EscapeFormulas: true})
	if out.CSV != "'=SUM(A1:A9),-5,12345678901234567890,'@x\n" {
		t.Fatalf("got %q", out.CSV)
	}
	out, _ = jsonToCSV(ctx, toCSVIn{Data: json.RawMessage(`[]`)})
	if out.CSV != "" || out.RowCount != 0 {
		t.Fatalf("got %+v", out)
	}
	for _, c := range []struct {
		in   toCSVIn
		want string
	}{
		{toCSVIn{}, "is required"},
		{toCSVIn{Data: json.RawMessage(`[]`), DataText: "[]"}, "not both"},
		{toCSVIn{DataText: `[{"a":1}`}, "not valid JSON"},
		{toCSVIn{Data: json.RawMessage(`"text"`)}, "array of objects"},
		{toCSVIn{Data: json.RawMessage(`[{"a":1},[1]]`)}, "data[1] is not an object"},
		{toCSVIn{Data: json.RawMessage(`[{"a":1}]`), Delimiter: "ab"}, "one character"},
	} {
		if _, err := jsonToCSV(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// CSV → JSON (without inference) → CSV gives the same text back.
func TestRoundTrip(t *testing.T) {
	src := "id,name,notes\n1,\"Doe, Jane\",\"line1\nline2\"\n2,Zoë,\"he said \"\"no\"\"\"\n3,,\n"
	j, err := csvToJSON(ctx, toJSONIn{CSV: src, InferTypes: boolp(false)})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(j.Rows)
	back, err := jsonToCSV(ctx, toCSVIn{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if back.CSV != src {
		t.Fatalf("got\n%q\nwant\n%q", back.CSV, src)
	}
}

func TestCSVSelect(t *testing.T) {
	out, err := csvSelect(ctx, selectIn{CSV: people, Columns: []string{"name", "age"}, SortBy: "age", Descending: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.CSV != "name,age\nGrace,85\nAda,36\n\"Smith, Jo\",7.5\nLinus,\n" || out.RowCount != 4 || out.Truncated {
		t.Fatalf("got %q", out.CSV)
	}
	// Text sort, ascending, empty last; filter; output delimiter; paging.
	out, _ = csvSelect(ctx, selectIn{CSV: people, Columns: []string{"city"}, SortBy: "city", OutputDelimiter: "tab", Limit: 2})
	if out.CSV != "city\nHelsinki\nLondon\n" || !out.Truncated || out.Matched != 4 {
		t.Fatalf("got %q %+v", out.CSV, out)
	}
	out, _ = csvSelect(ctx, selectIn{CSV: "a;b\n2;x\n10;y\n", SortBy: "a"})
	if out.CSV != "a;b\n2;x\n10;y\n" {
		t.Fatalf("numeric sort: got %q", out.CSV)
	}
	out, _ = csvSelect(ctx, selectIn{CSV: "a,b\n2,x\n10,y\n", SortBy: "b", Descending: true, OutputDelimiter: "|"})
	if out.CSV != "a|b\n10|y\n2|x\n" {
		t.Fatalf("got %q", out.CSV)
	}
	out, _ = csvSelect(ctx, selectIn{CSV: "1,2\n3,4\n", ReadOptions: readArgs{Header: boolp(false)}, Columns: []string{"#2"}})
	if out.CSV != "2\n4\n" {
		t.Fatalf("headerless: got %q", out.CSV)
	}
	out, _ = csvSelect(ctx, selectIn{CSV: people, Where: []filter{{Column: "member", Op: "eq", Value: json.RawMessage(`"true"`)}}, Columns: []string{"name"}})
	if out.CSV != "name\nAda\n\"Smith, Jo\"\n" || out.Matched != 2 {
		t.Fatalf("got %q", out.CSV)
	}
	for _, in := range []selectIn{
		{CSV: people, SortBy: "height"},
		{CSV: people, OutputDelimiter: "\n"},
		{CSV: people, Columns: []string{"nope"}},
		{CSV: people, Limit: maxLimit + 1},
	} {
		if _, err := csvSelect(ctx, in); err == nil {
			t.Errorf("%+v: no error", in.SortBy)
		}
	}
}

func TestCSVInspect(t *testing.T) {
	out, err := csvInspect(ctx, inspectIn{CSV: people})
	if err != nil {
		t.Fatal(err)
	}
	if out.Rows != 4 || out.Delimiter != "," || len(out.Columns) != 5 {
		t.Fatalf("got %+v", out)
	}
	age := out.Columns[1]
	if age.Type != "number" || age.NonEmpty != 3 || age.Min != "7.5" || age.Max != "85" || age.Distinct != 3 || age.Position != 2 {
		t.Fatalf("age %+v", age)
	}
	zip := out.Columns[3]
	if zip.Type != "mixed" || !reflect.DeepEqual(zip.Types, []string{"integer", "string"}) {
		t.Fatalf("zip %+v", zip)
	}
	member := out.Columns[4]
	if member.Type != "boolean" || member.NonEmpty != 3 || member.Distinct != 2 || !reflect.DeepEqual(member.Examples, []string{"true", "FALSE"}) {
		t.Fatalf("member %+v", member)
	}
	name := out.Columns[0]
	if name.Type != "string" || name.Min != "Ada" || name.Max != "Smith, Jo" || len(name.Examples) != 3 {
		t.Fatalf("name %+v", name)
	}
	out, _ = csvInspect(ctx, inspectIn{CSV: "a,b\n,1\n,2\n"})
	if out.Columns[0].Type != "empty" || out.Columns[0].Min != "" || out.Columns[1].Type != "integer" {
		t.Fatalf("got %+v", out.Columns)
	}
	if _, err := csvInspect(ctx, inspectIn{CSV: ""}); err == nil {
		t.Fatal("empty accepted")
	}
}

func TestDetectDelimiter(t *testing.T) {
	cases := map[string]rune{
		"a,b,c\n1,2,3":                    ',',
		"a;b;c\n1;2;3":                    ';',
		"a;b\n\"1,5\";2\n\"3,5\";4":       ';',
		"name\tnote\nx\ta, b, c\ny\td, e": '\t',
		"single\nvalue":                   ',',
		"a|b\n1|2":                        '|',
	}
	for in, want := range cases {
		if got := detectDelimiter(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
