package kiln

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// TestAsk: each call sends its host function the documented request and
// reads the documented answer; with no one to ask, ErrInputUnavailable.
func TestAsk(t *testing.T) {
	var asked []string
	r := &recorder{answer: func(kind string, doc []byte) []byte {
		asked = append(asked, kind+" "+string(doc))
		switch kind {
		case "elicit":
			return []byte(`{"action":"accept","content":{"confirm":true}}`)
		case "sample":
			return []byte(`{"role":"assistant","model":"m1","content":{"type":"text","text":"Paris"}}`)
		}
		return []byte(`{"roots":[{"uri":"file:///src","name":"src"}]}`)
	}}
	ctx := context.WithValue(context.Background(), hostKey{}, host(r))
	action, content, err := ElicitWith(ctx, ElicitRequest{Key: "confirm", Message: "Sure?", Schema: map[string]any{"type": "object"}})
	if err != nil || action != ActionAccept || content["confirm"] != true {
		t.Fatalf("Elicit: %q %v %v", action, content, err)
	}
	res, err := Sample(ctx, SampleRequest{Messages: []SamplingMessage{{Role: "user", Text: "Capital of France?"}}})
	if err != nil || res.Text != "Paris" || res.Model != "m1" {
		t.Fatalf("Sample: %+v %v", res, err)
	}
	roots, err := Roots(ctx)
	if err != nil || len(roots) != 1 || roots[0].URI != "file:///src" {
		t.Fatalf("Roots: %+v %v", roots, err)
	}
	want := []string{
		`elicit {"key":"confirm","message":"Sure?","requestedSchema":{"type":"object"}}`,
		`sample {"messages":[{"role":"user","content":{"type":"text","text":"Capital of France?"}}],"maxTokens":256}`,
		`list_roots {}`,
	}
	for i := range want {
		if asked[i] != want[i] {
			t.Errorf("request %d: got %s, want %s", i, asked[i], want[i])
		}
	}
	none := context.WithValue(context.Background(), hostKey{}, host(&recorder{}))
	if _, _, err := Elicit(none, "?", nil); !errors.Is(err, ErrInputUnavailable) {
		t.Fatalf("no host: %v", err)
	}
}

// TestSampleTextFromList: a sampling answer with a list of content items
// (sampling with tools) still yields its text.
func TestSampleTextFromList(t *testing.T) {
	if got := sampleText(json.RawMessage(`[{"type":"tool_use"},{"type":"text","text":"hi"}]`)); got != "hi" {
		t.Fatalf("got %q", got)
	}
}
