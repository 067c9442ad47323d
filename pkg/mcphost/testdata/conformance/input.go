package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// The tools of the multi-round scenarios (SEP-2322, input-required-result-*)
// and of SEP-2575's capability check: each asks its caller through
// kiln.Elicit, kiln.Sample or kiln.Roots, which the host turns into
// input-required results. Keys are the ones the scenarios answer.

func nameSchema(field string) map[string]any {
	return map[string]any{
		"type":       "object",
		"properties": map[string]any{field: map[string]any{"type": "string"}},
		"required":   []string{field},
	}
}

var confirmSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"ok": map[string]any{"type": "boolean"}},
	"required":   []string{"ok"},
}

// askName asks for the caller's name under the key "user_name".
func askName(ctx context.Context, _ none) (kiln.Result, error) {
	action, content, err := kiln.ElicitWith(ctx, kiln.ElicitRequest{Key: "user_name", Message: "What is your name?", Schema: nameSchema("name")})
	if err != nil {
		return kiln.Result{}, err
	}
	name, _ := content["name"].(string)
	if action != kiln.ActionAccept || name == "" {
		return kiln.TextResult("No name given (" + action + ")."), nil
	}
	return kiln.TextResult(fmt.Sprintf("Hello, %s!", name)), nil
}

// askModel asks the client's model a question under key.
func askModel(key, question string) func(context.Context, none) (kiln.Result, error) {
	return func(ctx context.Context, _ none) (kiln.Result, error) {
		res, err := kiln.Sample(ctx, kiln.SampleRequest{Key: key, MaxTokens: 100,
			Messages: []kiln.SamplingMessage{{Role: "user", Text: question}}})
		if err != nil {
			return kiln.Result{}, err
		}
		return kiln.TextResult("Sampling response: " + res.Text), nil
	}
}

// listRoots asks for the client's roots.
func listRoots(ctx context.Context, _ none) (kiln.Result, error) {
	roots, err := kiln.Roots(ctx)
	if err != nil {
		return kiln.Result{}, err
	}
	var uris []string
	for _, r := range roots {
		uris = append(uris, r.URI)
	}
	return kiln.TextResult(fmt.Sprintf("Client exposed %d root(s): %s", len(roots), strings.Join(uris, ", "))), nil
}

// confirm asks for a confirmation under the key "confirm".
func confirm(ctx context.Context, _ none) (kiln.Result, error) {
	action, content, err := kiln.ElicitWith(ctx, kiln.ElicitRequest{Key: "confirm", Message: "Please confirm", Schema: confirmSchema})
	if err != nil {
		return kiln.Result{}, err
	}
	if action != kiln.ActionAccept || content["ok"] != true {
		return kiln.TextResult("not confirmed"), nil
	}
	return kiln.TextResult("state-ok: requestState received and confirmation accepted"), nil
}

// twoRounds asks two questions, one per round.
func twoRounds(ctx context.Context, _ none) (kiln.Result, error) {
	_, first, err := kiln.ElicitWith(ctx, kiln.ElicitRequest{Key: "step1", Message: "Step 1: What is your name?", Schema: nameSchema("name")})
	if err != nil {
		return kiln.Result{}, err
	}
	_, second, err := kiln.ElicitWith(ctx, kiln.ElicitRequest{Key: "step2", Message: "Step 2: What is your favorite color?", Schema: nameSchema("color")})
	if err != nil {
		return kiln.Result{}, err
	}
	return kiln.TextResult(fmt.Sprintf("Multi-round complete: %v likes %v", first["name"], second["color"])), nil
}

// everything asks the user, the model and for the roots, one after the
// other: a Wasm tool asks one question per round.
func everything(ctx context.Context, in none) (kiln.Result, error) {
	_, name, err := kiln.ElicitWith(ctx, kiln.ElicitRequest{Key: "user_name", Message: "What is your name?", Schema: nameSchema("name")})
	if err != nil {
		return kiln.Result{}, err
	}
	greeting, err := kiln.Sample(ctx, kiln.SampleRequest{Key: "greeting", MaxTokens: 50,
		Messages: []kiln.SamplingMessage{{Role: "user", Text: "Generate a greeting"}}})
	if err != nil {
		return kiln.Result{}, err
	}
	roots, err := kiln.Roots(ctx)
	if err != nil {
		return kiln.Result{}, err
	}
	return kiln.TextResult(fmt.Sprintf("%s %v — %d root(s) visible", greeting.Text, name["name"], len(roots))), nil
}

// everythingAtOnce asks the user, the model and for the roots in one round
// (kiln.AskAll): the input-required result carries all three.
func everythingAtOnce(ctx context.Context, _ none) (kiln.Result, error) {
	var name kiln.ElicitAnswer
	var greeting kiln.SampleResult
	var roots []kiln.Root
	err := kiln.AskAll(ctx,
		kiln.AskElicit(kiln.ElicitRequest{Key: "user_name", Message: "What is your name?", Schema: nameSchema("name")}, &name),
		kiln.AskSample(kiln.SampleRequest{Key: "greeting", MaxTokens: 50,
			Messages: []kiln.SamplingMessage{{Role: "user", Text: "Generate a greeting"}}}, &greeting),
		kiln.AskRoots("client_roots", &roots))
	if err != nil {
		return kiln.Result{}, err
	}
	return kiln.TextResult(fmt.Sprintf("%s %v — %d root(s) visible", greeting.Text, name.Content["name"], len(roots))), nil
}

// manyAtOnce asks n questions in one round (kiln.AskAll; the limit tests
// of pkg/mcphost).
func manyAtOnce(ctx context.Context, in struct {
	N int `json:"n"`
}) (kiln.Result, error) {
	answers := make([]kiln.ElicitAnswer, in.N)
	var qs []kiln.Question
	for i := range in.N {
		qs = append(qs, kiln.AskElicit(kiln.ElicitRequest{Key: fmt.Sprintf("q%d", i+1), Message: fmt.Sprintf("Question %d?", i+1), Schema: nameSchema("a")}, &answers[i]))
	}
	if err := kiln.AskAll(ctx, qs...); err != nil {
		return kiln.Result{}, err
	}
	var got []string
	for _, a := range answers {
		got = append(got, fmt.Sprint(a.Content["a"]))
	}
	return kiln.TextResult("answers: " + strings.Join(got, ",")), nil
}

// sameKeyTwice asks two different questions under one key in one round,
// which the client could not answer apart: the host refuses the round.
func sameKeyTwice(ctx context.Context, _ struct{}) (kiln.Result, error) {
	var a, b kiln.ElicitAnswer
	err := kiln.AskAll(ctx,
		kiln.AskElicit(kiln.ElicitRequest{Key: "dup", Message: "First?", Schema: nameSchema("a")}, &a),
		kiln.AskElicit(kiln.ElicitRequest{Key: "dup", Message: "Second?", Schema: nameSchema("a")}, &b))
	if err != nil {
		return kiln.Result{}, err
	}
	return kiln.TextResult("answered"), nil
}

// contextPrompt is a dynamic prompt that asks the user for its context
// (SEP-2322 on prompts/get).
func contextPrompt(ctx context.Context, _ map[string]string) ([]kiln.Message, error) {
	action, content, err := kiln.ElicitWith(ctx, kiln.ElicitRequest{Key: "user_context", Message: "What context should the prompt use?", Schema: nameSchema("context")})
	if err != nil {
		return nil, err
	}
	if action != kiln.ActionAccept {
		return nil, fmt.Errorf("no context given (%s)", action)
	}
	return []kiln.Message{kiln.UserText(fmt.Sprintf("Context: %v", content["context"]))}, nil
}

// manyQuestions asks n questions (the limit tests of pkg/mcphost).
func manyQuestions(ctx context.Context, in struct {
	N int `json:"n"`
}) (kiln.Result, error) {
	var got []string
	for i := range in.N {
		_, c, err := kiln.ElicitWith(ctx, kiln.ElicitRequest{Key: fmt.Sprintf("q%d", i+1), Message: fmt.Sprintf("Question %d?", i+1), Schema: nameSchema("a")})
		if err != nil {
			return kiln.Result{}, err
		}
		got = append(got, fmt.Sprint(c["a"]))
	}
	return kiln.TextResult("answers: " + strings.Join(got, ",")), nil
}

// bigSchema asks with a requested schema larger than the host accepts.
func bigSchema(ctx context.Context, _ none) (kiln.Result, error) {
	props := map[string]any{}
	for i := range 200 {
		props[fmt.Sprintf("field_%03d", i)] = map[string]any{"type": "string", "description": "a field"}
	}
	_, _, err := kiln.Elicit(ctx, "Too much?", map[string]any{"type": "object", "properties": props})
	return kiln.TextResult(fmt.Sprint("unreachable: ", err)), nil
}

func inputTools() []kiln.Tool {
	return []kiln.Tool{
		kiln.NewTool("test_input_required_result_elicitation", "Asks the caller's name (SEP-2322)", askName),
		kiln.NewTool("test_input_required_result_sampling", "Asks the client's model (SEP-2322)",
			askModel("capital_question", "What is the capital of France?")),
		kiln.NewTool("test_input_required_result_list_roots", "Asks for the client's roots (SEP-2322)", listRoots),
		kiln.NewTool("test_input_required_result_request_state", "Asks for a confirmation (SEP-2322)", confirm),
		kiln.NewTool("test_input_required_result_tampered_state", "Asks for a confirmation (SEP-2322)", confirm),
		kiln.NewTool("test_input_required_result_multi_round", "Asks two questions in two rounds (SEP-2322)", twoRounds),
		kiln.NewTool("test_input_required_result_multiple_inputs", "Asks the user, the model and for roots in one round (SEP-2322)", everythingAtOnce),
		kiln.NewTool("ask_in_turn", "Asks the user, the model and for roots, one per round", everything),
		kiln.NewTool("test_input_required_result_capabilities", "Asks the client's model, which needs the sampling capability (SEP-2322)",
			askModel("greeting", "Generate a short greeting")),
		kiln.NewTool("test_missing_capability", "Asks the client's model; needs the sampling capability (SEP-2575)",
			askModel("greeting", "Generate a short greeting")),
		kiln.NewTool("ask_many", "Asks n questions, one per round", manyQuestions),
		kiln.NewTool("ask_many_at_once", "Asks n questions in one round", manyAtOnce),
		kiln.NewTool("ask_same_key_twice", "Asks two questions under one key in one round", sameKeyTwice),
		kiln.NewTool("ask_big_schema", "Asks with a requested schema past the host's limit", bigSchema),
	}
}
