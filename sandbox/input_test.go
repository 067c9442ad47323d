package sandbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
)

// scripted answers requests for input from a list, in order, and keeps
// every request it was asked.
type scripted struct {
	answers []json.RawMessage
	asked   []sandbox.InputRequest
}

func (s *scripted) Answer(q sandbox.InputRequest) (json.RawMessage, bool) {
	s.asked = append(s.asked, q)
	if q.Index < len(s.answers) {
		return s.answers[q.Index], true
	}
	return nil, false
}

func askCall(t *testing.T, e *sandbox.Engine, m *sandbox.Module, n int, in sandbox.Inputs) sandbox.Result {
	t.Helper()
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "ask", Args: []byte(notifyArgs(n)), Limits: limits(), Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

const answerDoc = `{"content":[{"type":"text","text":"yes"}]}`

// TestInputRequests: a module's request for input is answered through
// Request.Inputs (the module gets the answer document), or stops the call
// as input_required with the request, its key and position; without
// Inputs every request stops the call.
func TestInputRequests(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "ask"))

	in := &scripted{answers: []json.RawMessage{json.RawMessage(answerDoc)}}
	res := askCall(t, e, m, 1, in)
	if res.Outcome != sandbox.OutcomeOK || res.Answer.Text != "yes" {
		t.Fatalf("answered: %v (%s) %q", res.Outcome, res.Detail, res.Answer.Text)
	}
	q := in.asked[0]
	if q.Kind != sandbox.InputElicit || q.Key != "k" || q.Index != 0 || len(q.Hash) != 64 ||
		string(q.Params) != `{"message":"Sure?","requestedSchema":{"type":"object"}}` {
		t.Fatalf("request: %+v (%s)", q, q.Params)
	}

	res = askCall(t, e, m, 1, nil)
	if res.Outcome != sandbox.OutcomeInputRequired || len(res.Input) != 1 || res.Input[0].Hash != q.Hash || !strings.Contains(res.Detail, "elicit") {
		t.Fatalf("unanswered: %v (%s) %+v", res.Outcome, res.Detail, res.Input)
	}

	in = &scripted{answers: []json.RawMessage{json.RawMessage(answerDoc)}}
	res = askCall(t, e, m, 2, in)
	if res.Outcome != sandbox.OutcomeOK || in.asked[0].Kind != sandbox.InputRoots || in.asked[0].Key != "list_roots-1" || string(in.asked[0].Params) != "{}" {
		t.Fatalf("list_roots: %v (%s) %+v", res.Outcome, res.Detail, in.asked)
	}

	// The second question: the same request again is the same question
	// (hash) at another position, which the first answer does not cover.
	in = &scripted{answers: []json.RawMessage{json.RawMessage(`{"action":"accept"}`)}}
	res = askCall(t, e, m, 3, in)
	if res.Outcome != sandbox.OutcomeInputRequired || len(res.Input) != 1 || res.Input[0].Index != 1 || res.Input[0].Hash != in.asked[0].Hash {
		t.Fatalf("second question: %v (%s) %+v", res.Outcome, res.Detail, res.Input)
	}
}

// TestInputDeferred: a deferred request the call has no answer for
// returns 0 and the module goes on; when it returns, the call ends
// input_required with every unanswered question in order (its result is
// not the answer), "defer" out of the question's document; answered,
// the module gets its answers and its result. Deferring more than
// MaxRoundInputs questions is a trap.
func TestInputDeferred(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "ask"))
	res := askCall(t, e, m, 9, nil)
	if res.Outcome != sandbox.OutcomeInputRequired || len(res.Input) != 2 {
		t.Fatalf("unanswered: %v (%s) %+v", res.Outcome, res.Detail, res.Input)
	}
	q0, q1 := res.Input[0], res.Input[1]
	if q0.Kind != sandbox.InputElicit || q0.Key != "d" || !q0.Deferred || q0.Index != 0 ||
		string(q0.Params) != `{"message":"Sure?","requestedSchema":{"type":"object"}}` ||
		q1.Kind != sandbox.InputRoots || q1.Key != "list_roots-2" || q1.Index != 1 || string(q1.Params) != "{}" {
		t.Fatalf("questions: %+v %+v", q0, q1)
	}
	if !strings.Contains(res.Detail, "elicit #1, list_roots #2") {
		t.Fatalf("detail: %s", res.Detail)
	}
	both := &scripted{answers: []json.RawMessage{json.RawMessage(`{"action":"accept"}`), json.RawMessage(answerDoc)}}
	if res := askCall(t, e, m, 9, both); res.Outcome != sandbox.OutcomeOK || res.Answer.Text != "yes" {
		t.Fatalf("answered: %v (%s) %q", res.Outcome, res.Detail, res.Answer.Text)
	}
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "ask", Args: []byte(`{"a":"bc:"}`), Limits: limits()})
	if err != nil || res.Outcome != sandbox.OutcomeTrap || !strings.Contains(res.Detail, "more than 32 unanswered requests") {
		t.Fatalf("past MaxRoundInputs: %v %v (%s)", err, res.Outcome, res.Detail)
	}
}

// TestInputMisuse: what the ABI says is a trap is one, with a message
// naming the function.
func TestInputMisuse(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "ask"))
	always := &scripted{answers: []json.RawMessage{json.RawMessage(answerDoc), json.RawMessage(answerDoc)}}
	for n, want := range map[int]string{
		4: "kiln.elicit: the previous answer was not read",
		5: "kiln.input_response: no answer is pending",
		6: "kiln.elicit: the request is not a JSON object",
		7: `kiln.elicit: key "a b" is not`,
		8: `kiln.sample: the request is not MCP sampling/createMessage params`,
	} {
		res := askCall(t, e, m, n, always)
		if res.Outcome != sandbox.OutcomeTrap || !strings.Contains(res.Detail, want) {
			t.Errorf("case %d: %v (%s), want a trap with %q", n, res.Outcome, res.Detail, want)
		}
	}
	// Case 11, "defer" neither true nor false: the digit at the case's
	// place is ';', which only a string argument can carry.
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "ask", Args: []byte(`{"a":"bc;"}`), Limits: limits(), Inputs: always})
	if want := `kiln.elicit: "defer" must be true or false`; err != nil || res.Outcome != sandbox.OutcomeTrap || !strings.Contains(res.Detail, want) {
		t.Errorf("case 11: %v %v (%s), want a trap with %q", err, res.Outcome, res.Detail, want)
	}
}

// TestInputAnswersReplayed: the answers a call was given are part of its
// recording, so a replay with no one to ask answers the same; a call that
// stopped for input replays to the same stop.
func TestInputAnswersReplayed(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	wasm := wat(t, "ask")
	m := load(t, e, wasm)
	one := &scripted{answers: []json.RawMessage{json.RawMessage(answerDoc)}}
	for _, tc := range []struct {
		name string
		n    int
		in   sandbox.Inputs
		want sandbox.Outcome
	}{
		{"answered", 1, one, sandbox.OutcomeOK},
		{"stopped", 1, nil, sandbox.OutcomeInputRequired},
		// Deferred: the first answered, the second left unanswered (an
		// empty answer in the recording); the replay ends as the call did.
		{"deferred", 9, &scripted{answers: []json.RawMessage{json.RawMessage(`{"action":"accept"}`)}}, sandbox.OutcomeInputRequired},
		{"deferred unanswered", 9, nil, sandbox.OutcomeInputRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := sandbox.NewRecording(1 << 20)
			res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "ask", Args: []byte(notifyArgs(tc.n)), Limits: limits(), Inputs: tc.in, Record: rec})
			if err != nil || res.Outcome != tc.want {
				t.Fatalf("recorded call: %v %v (%s)", err, res.Outcome, res.Detail)
			}
			r2 := newEngine(t, sandbox.Config{})
			r, err := r2.Replay(context.Background(), load(t, r2, wasm), sandbox.Request{Tool: "ask", Args: []byte(notifyArgs(tc.n)), Limits: limits()}, rec)
			if err != nil {
				t.Fatal(err)
			}
			if !r.ResultMatches || len(r.Divergences) != 0 || r.Result.Outcome != tc.want || len(r.Result.Input) != len(res.Input) {
				t.Fatalf("replay: match %v, outcome %v, divergences %q, questions %d want %d",
					r.ResultMatches, r.Result.Outcome, r.Divergences, len(r.Result.Input), len(res.Input))
			}
		})
	}
}
