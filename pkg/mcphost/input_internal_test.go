package mcphost

import (
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/sandbox"
)

// question is an elicitation at index i under key whose identity is hash.
func question(i int, key, hash string) sandbox.InputRequest {
	return sandbox.InputRequest{Kind: sandbox.InputElicit, Key: key, Index: i, Hash: hash,
		Params: json.RawMessage(`{"message":"m","requestedSchema":{"type":"object","properties":{"a":{"type":"string"}}}}`)}
}

// TestAnswerOnlyTheQuestionShown: a retry's response is given to a
// question only where the state asked it, and only while it is the
// question the client was shown (its hash): a module that now asks
// something else under the key, or asks what an old state recorded as
// null, asks again; an unanswered question is kept with its hash.
func TestAnswerOnlyTheQuestionShown(t *testing.T) {
	yes := mcp.InputResponseMap{"k": &mcp.ElicitResult{Action: "accept", Content: map[string]any{"a": "yes"}}}
	for _, c := range []struct {
		name     string
		recorded []*recordedInput
		hash     string
		want     bool
	}{
		{"the question shown", []*recordedInput{{Hash: "h1"}}, "h1", true},
		{"another question under its key", []*recordedInput{{Hash: "h1"}}, "h2", false},
		{"a state from before hashes were kept", []*recordedInput{nil}, "h1", false},
		{"a pending entry read as JSON null", []*recordedInput{{Hash: "h1", Response: json.RawMessage("null")}}, "h2", false},
		{"a question the state never asked", nil, "h1", false},
	} {
		a := &answers{recorded: c.recorded, responses: yes, perCall: 8}
		doc, ok := a.Answer(question(0, "k", c.hash))
		if ok != c.want || a.err != nil {
			t.Errorf("%s: answered %v (%s), err %v; want answered %v", c.name, ok, doc, a.err, c.want)
		}
		if len(a.given) != 1 || a.given[0] == nil || a.given[0].Hash != c.hash || a.given[0].pending() == c.want {
			t.Errorf("%s: the next state records %+v", c.name, a.given)
		}
	}
	// The state's own null-free encoding of a pending question reads back
	// as pending, with its hash.
	s, err := json.Marshal(inputState{Answers: []*recordedInput{{Hash: "h1"}}})
	if err != nil {
		t.Fatal(err)
	}
	var back inputState
	if err := json.Unmarshal(s, &back); err != nil || !back.Answers[0].pending() || back.Answers[0].Hash != "h1" {
		t.Fatalf("pending question round trip: %s -> %+v, %v", s, back.Answers[0], err)
	}
	// An answered question changed: what followed it is not given either.
	a := &answers{recorded: []*recordedInput{{Hash: "h1", Response: json.RawMessage(`{"action":"decline"}`)}, {Hash: "h2"}}, responses: yes, perCall: 8}
	if _, ok := a.Answer(question(0, "x", "other")); ok {
		t.Fatal("a changed question got the recorded answer")
	}
	if _, ok := a.Answer(question(1, "k", "h2")); ok {
		t.Fatal("a question after a changed one got a response")
	}
}
