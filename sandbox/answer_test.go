package sandbox

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestParseAnswer: the host passes on what the ABI allows and refuses the
// rest as the module's fault, without rewriting the document.
func TestParseAnswer(t *testing.T) {
	for doc, want := range map[string]string{
		`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"isError":true}`: "",
		`{"content":[],"structuredContent":null}`:                                            "",
		"{\"content\":[{\"type\":\"text\",\"text\":\"\xff\"}]}":                              "",
		`[]`:                                               "not a JSON object",
		`{"content":[{"type":"video"}]}`:                   "unknown type",
		`{"content":[],"structuredContent":[1]}`:           "not a JSON object",
		`{"content":[{"type":"text","text":"a"}]`:          "invalid result document",
		`{"content":[],"structuredContent":{"n":1}} extra`: "invalid result document",
	} {
		a, err := parseAnswer([]byte(doc))
		if want != "" {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err %v, want %q", doc, err, want)
			}
			continue
		}
		if err != nil || !json.Valid(a.Document) || a.Structured != nil {
			t.Errorf("%s: %+v, %v", doc, a, err)
		}
	}
	a, _ := parseAnswer([]byte(`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"isError":true}`))
	if !a.IsError || a.Text != "a\nb" {
		t.Errorf("answer %+v", a)
	}
}

// TestPlainAnswer: a plain program's stdout becomes a text item, and its
// structured content when it is a JSON object; after a failure, its message.
func TestPlainAnswer(t *testing.T) {
	a, err := plainAnswer([]byte(" {\"n\":9007199254740993}\n"), false, "")
	if err != nil || string(a.Structured) != `{"n":9007199254740993}` || a.IsError {
		t.Fatalf("%+v, %v", a, err)
	}
	if again, err := parseAnswer(a.Document); err != nil || string(again.Structured) != string(a.Structured) {
		t.Fatalf("the document made for a plain program does not read back: %+v, %v", again, err)
	}
	if a, err := plainAnswer([]byte("[1]"), false, ""); err != nil || a.Structured != nil || a.Text != "[1]" {
		t.Fatalf("%+v, %v", a, err)
	}
	if a, err := plainAnswer([]byte("{}"), true, "no such city"); err != nil || !a.IsError || a.Text != "no such city" || a.Structured != nil {
		t.Fatalf("%+v, %v", a, err)
	}
}
