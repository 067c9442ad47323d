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
// record), never act and then ask.

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
	var out struct {
		Action  string         `json:"action"`
		Content map[string]any `json:"content"`
	}
	if err := ask(ctx, "elicit", req, &out); err != nil {
		return "", nil, err
	}
	return out.Action, out.Content, nil
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
	var out struct {
		SampleResult
		Content json.RawMessage `json:"content"`
	}
	if err := ask(ctx, "sample", doc, &out); err != nil {
		return SampleResult{}, err
	}
	res := out.SampleResult
	res.Text = sampleText(out.Content)
	return res, nil
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
	var out struct {
		Roots []Root `json:"roots"`
	}
	if err := ask(ctx, "list_roots", struct{}{}, &out); err != nil {
		return nil, err
	}
	return out.Roots, nil
}

// ask sends one request for input to the host and decodes its answer.
// When the host has no answer yet it stops the tool inside this call and
// never returns here.
func ask(ctx context.Context, kind string, req, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	doc, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("kiln: encoding the %s request: %w", kind, err)
	}
	answer := hostFrom(ctx).input(kind, doc)
	if answer == nil {
		return ErrInputUnavailable
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("kiln: reading the %s answer: %w", kind, err)
	}
	return nil
}
