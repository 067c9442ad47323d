package kiln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Asking the caller (ABI v2): a tool may ask the user a question
// (elicitation), ask the client's model for a completion (sampling), or
// ask for the client's roots. Kiln serves tools statelessly, so it cannot
// hold a call open while the user thinks: when the tool asks something the
// call has no answer for yet, the host stops the tool there and returns
// the question to the client (MCP 2026-07-28 "input required" results);
// when the client sends the answer, the host runs the tool again from the
// start, and this time the same question, asked at the same point, gets
// the answer. So a tool that asks must do the same things up to each
// question on every run: ask first, then act (send the e-mail, write the
// record), never act and then ask. Elicit, Sample and Roots each take a
// round when unanswered; AskAll asks several questions in one round.

// ErrInputUnavailable is returned when there is no Kiln host to ask (the
// tool runs natively, as in `go run`).
var ErrInputUnavailable = errors.New("kiln: no MCP client to ask: run the tool in Kiln")

// Elicitation actions (MCP elicitation/create results).
const (
	ActionAccept  = "accept"  // the user answered; content holds the answer
	ActionDecline = "decline" // the user said no
	ActionCancel  = "cancel"  // the user dismissed the question
)

// ElicitRequest is what Elicit asks: a message for the user and the JSON
// Schema of the answer, an object of primitive properties (strings,
// numbers, booleans, enums), as MCP allows. Key names the question in the
// client's inputRequests; empty means "elicit-N" (the N-th question).
type ElicitRequest struct {
	Key     string         `json:"key,omitempty"`
	Message string         `json:"message"`
	Schema  map[string]any `json:"requestedSchema"`
}

// Elicit asks the user a question and returns their action ("accept",
// "decline", "cancel") and, when they accepted, the answer, an object
// matching schema. It needs a client that declared the elicitation
// capability on MCP protocol 2026-07-28; otherwise the host ends the call
// with an error the agent can read.
//
//	action, answer, err := kiln.Elicit(ctx, "Delete all 42 rows?", map[string]any{
//		"type": "object",
//		"properties": map[string]any{"confirm": map[string]any{"type": "boolean"}},
//		"required": []string{"confirm"},
//	})
//	if err != nil || action != kiln.ActionAccept || answer["confirm"] != true {
//		return Out{}, errors.New("not confirmed: nothing was deleted")
//	}
func Elicit(ctx context.Context, message string, schema map[string]any) (action string, content map[string]any, err error) {
	return ElicitWith(ctx, ElicitRequest{Message: message, Schema: schema})
}

// ElicitWith is Elicit with a named question.
func ElicitWith(ctx context.Context, req ElicitRequest) (action string, content map[string]any, err error) {
	var out ElicitAnswer
	if err := ask(ctx, AskElicit(req, &out), false); err != nil {
		return "", nil, err
	}
	return out.Action, out.Content, nil
}

// ElicitAnswer is the user's answer to an elicitation: their Action and,
// when they accepted, the Content, an object matching the schema.
type ElicitAnswer struct {
	Action  string         `json:"action"`
	Content map[string]any `json:"content"`
}

// SamplingMessage is one message of a sampling conversation: role "user"
// or "assistant", and a text.
type SamplingMessage struct {
	Role string
	Text string
}

// SampleRequest asks the client's model for a completion (MCP
// sampling/createMessage). MaxTokens is required by MCP; 0 means 256.
type SampleRequest struct {
	Key          string
	Messages     []SamplingMessage
	SystemPrompt string
	MaxTokens    int
}

// SampleResult is the model's answer.
type SampleResult struct {
	Model      string `json:"model"`
	Role       string `json:"role"`
	StopReason string `json:"stopReason"`
	// Text is the answer's text ("" when the model answered otherwise).
	Text string `json:"-"`
}

// Sample asks the client's model (the agent's LLM, at the client's
// discretion and the user's approval) and returns its answer. The client
// must have declared the sampling capability.
//
//	res, err := kiln.Sample(ctx, kiln.SampleRequest{
//		Messages: []kiln.SamplingMessage{{Role: "user", Text: "Summarise: " + text}},
//		MaxTokens: 200,
//	})
func Sample(ctx context.Context, req SampleRequest) (SampleResult, error) {
	var res SampleResult
	if err := ask(ctx, AskSample(req, &res), false); err != nil {
		return SampleResult{}, err
	}
	return res, nil
}

// sampleDoc is the sampling/createMessage params of req.
func sampleDoc(req SampleRequest) any {
	type content struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type message struct {
		Role    string  `json:"role"`
		Content content `json:"content"`
	}
	doc := struct {
		Key          string    `json:"key,omitempty"`
		Messages     []message `json:"messages"`
		SystemPrompt string    `json:"systemPrompt,omitempty"`
		MaxTokens    int       `json:"maxTokens"`
	}{Key: req.Key, SystemPrompt: req.SystemPrompt, MaxTokens: req.MaxTokens}
	if doc.MaxTokens <= 0 {
		doc.MaxTokens = 256
	}
	for _, m := range req.Messages {
		doc.Messages = append(doc.Messages, message{Role: m.Role, Content: content{Type: "text", Text: m.Text}})
	}
	return doc
}

// sampleText finds the text of a sampling answer, whose content is one
// item or (with tools) a list of items.
func sampleText(raw json.RawMessage) string {
	var one struct {
		Type, Text string
	}
	if json.Unmarshal(raw, &one) == nil && one.Type == "text" {
		return one.Text
	}
	var many []struct{ Type, Text string }
	_ = json.Unmarshal(raw, &many)
	for _, c := range many {
		if c.Type == "text" {
			return c.Text
		}
	}
	return ""
}

// Root is one of the client's roots: a URI (often file://) the user has
// opened in the client, and a name.
type Root struct {
	URI  string `json:"uri"`
	Name string `json:"name,omitempty"`
}

// Roots asks the client for its roots. The client must have declared the
// roots capability.
func Roots(ctx context.Context) ([]Root, error) {
	var roots []Root
	if err := ask(ctx, AskRoots("", &roots), false); err != nil {
		return nil, err
	}
	return roots, nil
}

// A Question is one request for input for AskAll: AskElicit, AskSample or
// AskRoots, each with where its answer goes.
type Question struct {
	kind string
	req  any
	read func(answer []byte) error
}

// AskElicit is Elicit as a Question: the answer goes to *out.
func AskElicit(req ElicitRequest, out *ElicitAnswer) Question {
	return Question{kind: "elicit", req: req, read: func(a []byte) error { return json.Unmarshal(a, out) }}
}

// AskSample is Sample as a Question: the answer goes to *out.
func AskSample(req SampleRequest, out *SampleResult) Question {
	return Question{kind: "sample", req: sampleDoc(req), read: func(a []byte) error {
		var res struct {
			SampleResult
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(a, &res); err != nil {
			return err
		}
		*out = res.SampleResult
		out.Text = sampleText(res.Content)
		return nil
	}}
}

// AskRoots is Roots as a Question named key ("" for "list_roots-N"): the
// roots go to *out.
func AskRoots(key string, out *[]Root) Question {
	type doc struct {
		Key string `json:"key,omitempty"`
	}
	return Question{kind: "list_roots", req: doc{key}, read: func(a []byte) error {
		var res struct {
			Roots []Root `json:"roots"`
		}
		err := json.Unmarshal(a, &res)
		*out = res.Roots
		return err
	}}
}

// AskAll asks several questions in one round: the client gets all those
// not yet answered at once (one input-required result), instead of one
// per round as with Elicit, Sample and Roots one after the other. When
// every question has its answer, AskAll fills them in and returns nil;
// otherwise the tool stops inside AskAll (the call is run again with the
// answers). Questions without a key are named by position, so give keys
// when the set of questions can change between runs.
//
//	var name kiln.ElicitAnswer
//	var greeting kiln.SampleResult
//	var roots []kiln.Root
//	err := kiln.AskAll(ctx,
//		kiln.AskElicit(kiln.ElicitRequest{Key: "name", Message: "Your name?", Schema: schema}, &name),
//		kiln.AskSample(kiln.SampleRequest{Key: "greeting", Messages: msgs}, &greeting),
//		kiln.AskRoots("roots", &roots))
func AskAll(ctx context.Context, questions ...Question) error {
	unanswered := false
	for _, q := range questions {
		err := ask(ctx, q, true)
		if errors.Is(err, errDeferred) {
			unanswered = true
			continue
		}
		if err != nil {
			return err
		}
	}
	if unanswered {
		hostFrom(ctx).stopForInput() // never returns
	}
	return nil
}

// errDeferred: the host has no answer yet to a deferred question.
var errDeferred = errors.New("kiln: deferred question")

// ask sends one request for input to the host (ABI section 5.7) and
// decodes its answer. When the host has no answer yet, it stops the tool
// inside this call and never returns here, or, for a deferred request, it
// returns errDeferred and the host asks it when the tool stops.
func ask(ctx context.Context, q Question, deferred bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	doc, err := json.Marshal(q.req)
	if err != nil {
		return fmt.Errorf("kiln: encoding the %s request: %w", q.kind, err)
	}
	if deferred { // {"defer":true, ...the request's fields}
		if len(doc) > 2 {
			doc = append([]byte(`{"defer":true,`), doc[1:]...)
		} else {
			doc = []byte(`{"defer":true}`)
		}
	}
	answer := hostFrom(ctx).input(q.kind, doc)
	switch {
	case answer == nil:
		return ErrInputUnavailable
	case len(answer) == 0 && deferred:
		return errDeferred
	}
	if err := q.read(answer); err != nil {
		return fmt.Errorf("kiln: reading the %s answer: %w", q.kind, err)
	}
	return nil
}
