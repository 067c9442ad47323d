package llm_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
)

const nameSchema = `{"type":"object","required":["name"],"properties":{"name":{"type":"string"}},"additionalProperties":false}`

func schemaAsk() llm.Request {
	r := ask("name a tool")
	r.Schema = []byte(nameSchema)
	r.SchemaName = "tool_name"
	return r
}

// Malformed and schema-violating answers are sent back with the error; a
// valid answer (even fenced) is returned as the bare document.
func TestInvalidOutputIsReasked(t *testing.T) {
	for _, api := range []string{"openai", "anthropic"} {
		s := llmtest.New(t)
		s.Enqueue(llmtest.Answer("Sure! Here it is"), llmtest.Answer(`{"name": 3}`),
			llmtest.Answer("```json\n{\"name\": \"grep\"}\n```"))
		r := newRig()
		p := openaiAt(t, s, provOpt{})
		if api == "anthropic" {
			p = anthropicAt(t, s, provOpt{stream: true})
		}
		resp, err := r.chain(t, llm.Options{}, p).Complete(context.Background(), schemaAsk())
		if err != nil {
			t.Fatalf("%s: %v", api, err)
		}
		if resp.Text != `{"name": "grep"}` || resp.Attempts != 3 {
			t.Fatalf("%s: resp %+v", api, resp)
		}
		reqs := s.Requests()
		second, third := string(reqs[1].Body), string(reqs[2].Body)
		if !strings.Contains(second, "not JSON") || !strings.Contains(second, "Sure! Here it is") {
			t.Fatalf("%s: re-ask lacks the error and the bad answer: %s", api, second)
		}
		if !strings.Contains(third, "does not match the schema") {
			t.Fatalf("%s: second re-ask lacks the validation error: %s", api, third)
		}
		want := []string{"invalid_output", "invalid_output", "ok"}
		if got := r.outcomes(); !slices.Equal(got, want) {
			t.Fatalf("%s: outcomes %v", api, got)
		}
	}
}

// After MaxReasks re-asks the chain gives up with InvalidOutput.
func TestInvalidOutputFailsAfterBound(t *testing.T) {
	s := llmtest.New(t)
	s.Enqueue(llmtest.Answer("{"), llmtest.Answer(`{"name": 1}`), llmtest.Answer(`{"name":"a","x":1}`),
		llmtest.Answer(`{"name":"never asked"}`))
	_, err := newRig().chain(t, llm.Options{}, openaiAt(t, s, provOpt{})).Complete(context.Background(), schemaAsk())
	if kindOf(t, err) != llm.KindInvalidOutput || !strings.Contains(err.Error(), "no valid answer in 3 tries") {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.Requests()); n != 1+llm.DefaultMaxReasks {
		t.Fatalf("%d requests, want %d", n, 1+llm.DefaultMaxReasks)
	}

	// With re-asks off, one bad answer is final.
	s2 := llmtest.New(t)
	s2.Enqueue(llmtest.Answer("{} trailing"))
	_, err = newRig().chain(t, llm.Options{MaxReasks: -1}, openaiAt(t, s2, provOpt{})).Complete(context.Background(), schemaAsk())
	if kindOf(t, err) != llm.KindInvalidOutput || len(s2.Requests()) != 1 {
		t.Fatalf("err = %v after %d requests", err, len(s2.Requests()))
	}
}

// A 200 whose body is not JSON is a transient server fault, retried.
func TestMalformedWireBodyIsRetried(t *testing.T) {
	for _, api := range []string{"openai", "anthropic"} {
		s := llmtest.New(t)
		s.Enqueue(llmtest.Malformed(), llmtest.Answer("fine"))
		p := openaiAt(t, s, provOpt{})
		if api == "anthropic" {
			p = anthropicAt(t, s, provOpt{})
		}
		r := newRig()
		resp, err := r.chain(t, llm.Options{}, p).Complete(context.Background(), ask("hi"))
		if err != nil || resp.Text != "fine" {
			t.Fatalf("%s: resp %+v err %v", api, resp, err)
		}
		if got := r.outcomes(); !slices.Equal(got, []string{"server_error", "ok"}) {
			t.Fatalf("%s: outcomes %v", api, got)
		}
	}
}

// A response body past MaxResponseBytes is cut off and refused.
func TestResponseSizeLimit(t *testing.T) {
	s := llmtest.New(t)
	s.Enqueue(llmtest.Answer(strings.Repeat("a", 4096)))
	p, err := llm.NewProvider(llm.ProviderConfig{API: llm.APIOpenAI, Model: "m", BaseURL: s.OpenAIURL()},
		llm.Options{MaxResponseBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	_, err = newRig().chain(t, llm.Options{}, p).Complete(context.Background(), ask("hi"))
	if kindOf(t, err) != llm.KindInvalidOutput || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("err = %v", err)
	}
	if len(s.Requests()) != 1 {
		t.Fatalf("%d requests: an oversized answer must not be retried", len(s.Requests()))
	}
}
