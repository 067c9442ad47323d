package kiln

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestResultJSONMatchesEncodingJSON: the hand-written result encoder writes
// exactly what json.Marshal writes for the same Result.
func TestResultJSONMatchesEncodingJSON(t *testing.T) {
	tricky := "quote \" backslash \\ newline \n tab \t cr \r bs \b ff \f nul \x00 esc \x1b " +
		"html <a href=\"x\">&amp;</a> line-sep \u2028 para-sep \u2029 emoji 😀 é invalid \xff\xfe end"
	for _, r := range []Result{
		{},
		{Content: []Content{}},
		TextResult("plain"),
		TextResult(tricky),
		TextResult("long enough for the word scan, " + tricky), // swar.go
		ErrorResult(errInvalidStructuredContent),
		{Content: []Content{{Type: "image", Data: "aGk=", MIMEType: "image/png"}, {Type: "text", Text: tricky}}},
		{Content: []Content{{Type: "text", Text: "{}"}}, StructuredContent: json.RawMessage(" { \"a\" : [1, 2, {\"b\": \"<x> & \u2028 \\\" y\"}] , \"c\":null } ")},
		{Content: nil, StructuredContent: json.RawMessage(`{}`), IsError: true},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("appendJSON:\n got %s\nwant %s", got, want)
		}
	}
	if _, err := (Result{StructuredContent: json.RawMessage(`{"a":`)}).appendJSON(nil); err == nil {
		t.Error("invalid structuredContent was written")
	}
}

func FuzzResultJSON(f *testing.F) {
	f.Add("text", "hello <b>", `{"a":"x & y"}`)
	f.Add("text", "long enough for the word scan <b> \u2028 \xff", `{}`)
	f.Fuzz(func(t *testing.T, typ, text, raw string) {
		r := Result{Content: []Content{{Type: typ, Text: text, MIMEType: text}}}
		if json.Valid([]byte(raw)) {
			r.StructuredContent = json.RawMessage(raw)
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Skip()
		}
		got, err := r.appendJSON(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("appendJSON %q %v, json.Marshal %q", got, err, want)
		}
	})
}
