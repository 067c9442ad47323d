package sandbox

import (
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// answerDocs are result documents of the toolkit's shape and near misses.
var answerDocs = []string{
	`{"content":[{"type":"text","text":"hello"}]}`,
	`{"content":[{"type":"text","text":"{\"text\":\"hi\",\"length\":2}"}],"structuredContent":{"text":"hi","length":2}}`,
	`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b\n\t\"\\\/"}],"isError":true}`,
	`{"content":[{"type":"text","text":"x"}],"isError":false}`,
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":[1,{"b":"}"}],"c":"\"{"}}`,
	`{"content":[{"type":"text","text":"\u00e9"}]}`,
	`{"content":[{"type":"text","text":"\ud800"}]}`,
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":1,}}`,
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":1}`,
	`{"content":[{"type":"text","text":"x"},]}`,
	`{"content":[{"type":"text","text":"x","text":"y"}]}`,
	`{"content":[{"type":"text","text":"x"}],"content":[]}`,
	`{"Content":[{"type":"text","text":"x"}]}`,
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":1},"structuredContent":{"b":2}}`,
	`{"content":[{"type":"text","text":"x"}],"isError":true,"isError":false}`,
	`{"content":[{"type":"text","text":"tab	inside"}]}`,
	`{"content":[{"type":"text","text":"x\q"}]}`,
	`{"content":[],"structuredContent":{"a":1}}`,
	`{"content":[{"type":"text","text":"x"}]} `,
	`{"content":[{"type":"text","text":"x"}],"structuredContent":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `}`,
}

// TestFastAnswerIsLinear: a document of many text items with escapes is
// read in memory proportional to its size (each item's unescaped text was
// once given a buffer as large as the rest of the document: quadratic).
func TestFastAnswerIsLinear(t *testing.T) {
	doc := []byte(`{"content":[` + strings.Repeat(`{"type":"text","text":"\n"},`, 20000) + `{"type":"text","text":"\n"}]}`)
	if _, ok := fastAnswer(doc); !ok {
		t.Fatal("declined")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fastAnswer(doc)
	runtime.ReadMemStats(&after)
	// Quadratic was some 10,000 times the document; the bound leaves room
	// for whatever else the process allocates meanwhile.
	if got := after.TotalAlloc - before.TotalAlloc; got > 32*uint64(len(doc)) {
		t.Fatalf("%d bytes allocated for a document of %d", got, len(doc))
	}
}

// TestFastAnswerTakesTheToolkitsShape: the toolkit's documents take the
// fast path, and the ones it declines still parse (or fail) as before.
func TestFastAnswerTakesTheToolkitsShape(t *testing.T) {
	for _, doc := range answerDocs[:5] {
		if _, ok := fastAnswer([]byte(doc)); !ok {
			t.Errorf("declined %s", doc)
		}
	}
	for _, doc := range answerDocs {
		checkFastAnswer(t, []byte(doc))
	}
}

// FuzzFastAnswer: whatever fastAnswer accepts, encoding/json reads the
// same way.
func FuzzFastAnswer(f *testing.F) {
	for _, doc := range answerDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !utf8.Valid(doc) {
			return // parseAnswer makes it valid first
		}
		checkFastAnswer(t, bytes.TrimSpace(doc))
	})
}

func checkFastAnswer(t *testing.T, doc []byte) {
	t.Helper()
	fast, ok := fastAnswer(doc)
	if !ok {
		return
	}
	slow, err := decodeAnswer(doc)
	if err != nil {
		t.Fatalf("%s: fast path accepted what encoding/json refuses: %v", doc, err)
	}
	// TextItems are the content items, every one a text item.
	var items struct{ Content []map[string]any }
	if err := json.Unmarshal(doc, &items); err != nil {
		t.Fatal(err)
	}
	if len(fast.TextItems) != len(items.Content) || len(items.Content) == 0 {
		t.Fatalf("%s: %d text items, the document has %d items", doc, len(fast.TextItems), len(items.Content))
	}
	for i, c := range items.Content {
		if len(c) != 2 || c["type"] != "text" || c["text"] != fast.TextItems[i] {
			t.Fatalf("%s: item %d is %v, the fast path read text %q", doc, i, c, fast.TextItems[i])
		}
	}
	fast.TextItems = nil
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s:\nfast %+v\nslow %+v", doc, fast, slow)
	}
}

// BenchmarkParseAnswer compares, in one run, reading the result document
// of a tool with structured output on the fast path and with
// encoding/json (decodeAnswer), as every warm call does once:
//
//	go test ./sandbox -run '^$' -bench ParseAnswer
func BenchmarkParseAnswer(b *testing.B) {
	doc := []byte(answerDocs[1])
	for _, bc := range []struct {
		name  string
		parse func([]byte) (Answer, error)
	}{{"fast", parseAnswer}, {"encoding-json", decodeAnswer}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.parse(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
