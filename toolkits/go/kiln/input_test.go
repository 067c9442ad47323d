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

// TestAskAll: AskAll sends every question deferred, fills in the answers
// when all are given, and stops the tool (after asking all of them) when
// one is not; natively there is no one to ask.
func TestAskAll(t *testing.T) {
	answers := map[string]string{
		"elicit":     `{"action":"accept","content":{"name":"Ada"}}`,
		"sample":     `{"role":"assistant","model":"m","content":{"type":"text","text":"Hi"}}`,
		"list_roots": `{"roots":[{"uri":"file:///a"}]}`,
	}
	var asked []string
	r := &recorder{answer: func(kind string, doc []byte) []byte {
		asked = append(asked, kind+" "+string(doc))
		return []byte(answers[kind])
	}}
	ctx := context.WithValue(context.Background(), hostKey{}, host(r))
	var name ElicitAnswer
	var greeting SampleResult
	var roots []Root
	questions := []Question{
		AskElicit(ElicitRequest{Key: "user_name", Message: "Name?", Schema: map[string]any{"type": "object"}}, &name),
		AskSample(SampleRequest{Key: "greeting", Messages: []SamplingMessage{{Role: "user", Text: "Greet"}}, MaxTokens: 50}, &greeting),
		AskRoots("client_roots", &roots),
	}
	if err := AskAll(ctx, questions...); err != nil {
		t.Fatal(err)
	}
	if name.Content["name"] != "Ada" || greeting.Text != "Hi" || len(roots) != 1 || roots[0].URI != "file:///a" {
		t.Fatalf("answers: %+v %+v %+v", name, greeting, roots)
	}
	want := []string{
		`elicit {"defer":true,"key":"user_name","message":"Name?","requestedSchema":{"type":"object"}}`,
		`sample {"defer":true,"key":"greeting","messages":[{"role":"user","content":{"type":"text","text":"Greet"}}],"maxTokens":50}`,
		`list_roots {"defer":true,"key":"client_roots"}`,
	}
	for i := range want {
		if asked[i] != want[i] {
			t.Errorf("request %d: got %s, want %s", i, asked[i], want[i])
		}
	}

	// The sampling answer is missing: all three are asked, then the tool stops.
	asked, answers["sample"] = nil, ""
	stopped := func() (err any) {
		defer func() { err = recover() }()
		_ = AskAll(ctx, questions...)
		return nil
	}()
	if stopped != errStopped || len(asked) != 3 {
		t.Fatalf("unanswered: stopped %v after %d requests", stopped, len(asked))
	}

	none := context.WithValue(context.Background(), hostKey{}, host(&recorder{}))
	if err := AskAll(none, questions...); !errors.Is(err, ErrInputUnavailable) {
		t.Fatalf("no host: %v", err)
	}
}
