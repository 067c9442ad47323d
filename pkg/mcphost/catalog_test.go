package mcphost_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
)

func catalogModule(t testing.TB) []byte { return builds.Go(t, "pkg/mcphost/testdata/catalog") }

// catalogServer serves the catalog fixture's two tools on plan.
func catalogServer(t *testing.T, plan string) (*env, server) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	mod := catalogModule(t)
	return e, e.addServer(plan, toolSpec{"note", "note", mod}, toolSpec{"erase", "erase", mod})
}

func promptText(t *testing.T, res *mcp.GetPromptResult) string {
	t.Helper()
	var parts []string
	for _, m := range res.Messages {
		if tc, ok := m.Content.(*mcp.TextContent); ok {
			parts = append(parts, string(m.Role)+": "+tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func readText(t *testing.T, s *mcp.ClientSession, uri string) (string, error) {
	t.Helper()
	res, err := s.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uri})
	if err != nil {
		return "", err
	}
	if len(res.Contents) != 1 || res.Contents[0].URI != uri {
		t.Fatalf("read %s: contents %+v", uri, res.Contents)
	}
	return res.Contents[0].Text, nil
}

// TestPromptsAndResources: a module's static and dynamic prompts,
// resources and template, read through the go-sdk client, with the
// capabilities declared as they are (no listChanged, no subscribe), and
// completions from the declared values.
func TestPromptsAndResources(t *testing.T) {
	e, srv := catalogServer(t, bigPlan.Name)
	s := connect(t, e.url(srv.ID), srv.key)
	ctx := context.Background()
	caps := s.InitializeResult().Capabilities
	if caps.Prompts == nil || caps.Prompts.ListChanged || caps.Resources == nil || caps.Resources.ListChanged ||
		caps.Resources.Subscribe || caps.Completions == nil {
		t.Errorf("capabilities %+v prompts %+v resources %+v", caps, caps.Prompts, caps.Resources)
	}
	prompts, err := s.ListPrompts(ctx, nil)
	if err != nil || len(prompts.Prompts) != 3 {
		t.Fatalf("prompts %+v, %v", prompts, err)
	}
	for name, c := range map[string]struct {
		args     map[string]string
		want, ok string
	}{
		"greet": {map[string]string{"who": "Ada"}, "user: Hello Ada!", ""},
		"mood":  {map[string]string{"mood": "fine"}, "assistant: I feel fine", ""},
	} {
		res, err := s.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: c.args})
		if err != nil || promptText(t, res) != c.want {
			t.Errorf("prompt %s: %v, %v, want %q", name, res, err, c.want)
		}
	}
	for name, want := range map[string]string{"greet": `needs the argument "who"`, "mood": "say which mood", "absent": `unknown prompt`} {
		if _, err := s.GetPrompt(ctx, &mcp.GetPromptParams{Name: name}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("prompt %s without arguments: %v, want %q", name, err, want)
		}
	}
	for uri, want := range map[string]string{"notes://readme": "# Notes", "notes://today": "nothing planned", "notes://note/x9": "note x9"} {
		if got, err := readText(t, s, uri); err != nil || got != want {
			t.Errorf("read %s = %q, %v, want %q", uri, got, err, want)
		}
	}
	if _, err := readText(t, s, "notes://absent"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("read an absent resource: %v", err)
	}
	templates, err := s.ListResourceTemplates(ctx, nil)
	if err != nil || len(templates.ResourceTemplates) != 1 || templates.ResourceTemplates[0].URITemplate != "notes://note/{id}" {
		t.Fatalf("templates %+v, %v", templates, err)
	}
	for ref, want := range map[mcp.CompleteReference][]string{
		{Type: "ref/prompt", Name: "greet"}:              {"Ada", "Alan"},
		{Type: "ref/resource", URI: "notes://note/{id}"}: {"a1", "a2"},
	} {
		arg := mcp.CompleteParamsArgument{Name: "who", Value: "A"}
		if ref.Type == "ref/resource" {
			arg = mcp.CompleteParamsArgument{Name: "id", Value: "a"}
		}
		res, err := s.Complete(ctx, &mcp.CompleteParams{Ref: &ref, Argument: arg})
		if err != nil || !slices.Equal(res.Completion.Values, want) {
			t.Errorf("complete %+v: %+v, %v, want %v", ref, res, err, want)
		}
	}
	// Subscriptions (no stream to send updates on): resources/subscribe
	// before 2026-07-28 is method not found, and the subscriptions/listen
	// of 2026-07-28 agrees to no resource subscription.
	init := rawPost(t, e.url(srv.ID), srv.key, initializeBody)
	init.Body.Close()
	resp := rawPost(t, e.url(srv.ID), srv.key, `{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"notes://today"}}`,
		"Mcp-Protocol-Version", "2025-06-18")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"code":-32601`) {
		t.Errorf("resources/subscribe answered %s", body)
	}
	listen := `{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["notes://today"]},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	ctxListen, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctxListen, http.MethodPost, e.url(srv.ID), strings.NewReader(listen))
	for k, v := range map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
		"Authorization": "Bearer " + srv.key, "Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "subscriptions/listen"} {
		req.Header.Set(k, v)
	}
	listenResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 4096)
	n, _ := listenResp.Body.Read(first)
	listenResp.Body.Close()
	if !strings.Contains(string(first[:n]), "subscriptions/acknowledged") || strings.Contains(string(first[:n]), "notes://today") {
		t.Errorf("subscriptions/listen answered %s, want an acknowledgement agreeing to no resource", first[:n])
	}
	// A server whose modules declare none offers none.
	plain := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	if c := connect(t, e.url(plain.ID), plain.key).InitializeResult().Capabilities; c.Prompts != nil || c.Resources != nil || c.Completions != nil {
		t.Errorf("a server without prompts or resources declares %+v", c)
	}
}

// TestDynamicPromptOutOfFuel: a dynamic prompt and a dynamic resource that
// loop are stopped by the plan's fuel limit, as a tool would be: the client
// gets a JSON-RPC error naming the limit, and the execution log has the
// call with its outcome.
func TestDynamicPromptOutOfFuel(t *testing.T) {
	// Fuel far below what the time limit allows even on wazero's
	// interpreter under the race detector (the module is new: its first
	// calls may run before its compile ends), so fuel, not time, stops it.
	plan := fuelPlan
	plan.Name, plan.Fuel, plan.Timeout = "small-fuel-test", 10_000_000, 2*time.Minute
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	if err := tier.NewCatalog(e.store).SetPlan(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	mod := catalogModule(t)
	srv := e.addServer(plan.Name, toolSpec{"note", "note", mod}, toolSpec{"erase", "erase", mod})
	s := connect(t, e.url(srv.ID), srv.key)
	_, err := s.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "spin"})
	if err == nil || !strings.Contains(err.Error(), "compute budget (10000000 fuel units per call on the small-fuel-test plan)") {
		t.Errorf("prompt spin: %v", err)
	}
	if _, err := readText(t, s, "notes://spin"); err == nil || !strings.Contains(err.Error(), "compute budget") {
		t.Errorf("resource spin: %v", err)
	}
	if got, err := s.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "mood", Arguments: map[string]string{"mood": "ok"}}); err != nil {
		t.Errorf("a prompt after two stopped ones: %v, %v", got, err)
	}
	outcomes := map[string]string{}
	for _, x := range e.executions(srv) {
		outcomes[x.ToolName] = x.Outcome
	}
	want := map[string]string{"prompt:spin": "fuel_exhausted", "resource:notes://spin": "fuel_exhausted", "prompt:mood": "ok"}
	for name, outcome := range want {
		if outcomes[name] != outcome {
			t.Errorf("execution log %v, want %s: %s", outcomes, name, outcome)
		}
	}
}

// TestKeyLimitedPromptsAndResources: a key limited to some of a module's
// tools cannot list, read, get or complete that module's prompts and
// resources, which would run the module's code with the server's env; a
// key allowed every tool of the module can.
func TestKeyLimitedPromptsAndResources(t *testing.T) {
	e, srv := catalogServer(t, bigPlan.Name)
	ctx := context.Background()
	limited := connect(t, e.url(srv.ID), e.limitedKey(srv, "note"))
	if p, err := limited.ListPrompts(ctx, nil); err != nil || len(p.Prompts) != 0 {
		t.Errorf("a key limited to note lists prompts %+v, %v", p, err)
	}
	if r, err := limited.ListResources(ctx, nil); err != nil || len(r.Resources) != 0 {
		t.Errorf("a key limited to note lists resources %+v, %v", r, err)
	}
	if r, err := limited.ListResourceTemplates(ctx, nil); err != nil || len(r.ResourceTemplates) != 0 {
		t.Errorf("a key limited to note lists templates %+v, %v", r, err)
	}
	if _, err := limited.GetPrompt(ctx, &mcp.GetPromptParams{Name: "mood", Arguments: map[string]string{"mood": "x"}}); err == nil ||
		!strings.Contains(err.Error(), `unknown prompt "mood"`) {
		t.Errorf("a key limited to note gets a dynamic prompt: %v", err)
	}
	for _, uri := range []string{"notes://today", "notes://readme", "notes://note/1"} {
		if _, err := readText(t, limited, uri); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("a key limited to note reads %s: %v", uri, err)
		}
	}
	if _, err := limited.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "greet"},
		Argument: mcp.CompleteParamsArgument{Name: "who", Value: ""}}); err == nil {
		t.Error("a key limited to note completes a prompt's argument")
	}
	for _, x := range e.executions(srv) {
		t.Errorf("a refused prompt or resource ran: %+v", x)
	}
	both := connect(t, e.url(srv.ID), e.limitedKey(srv, "note", "erase"))
	if p, err := both.ListPrompts(ctx, nil); err != nil || len(p.Prompts) != 3 {
		t.Errorf("a key allowed every tool of the module lists %+v, %v", p, err)
	}
	if got, err := readText(t, both, "notes://today"); err != nil || got != "nothing planned" {
		t.Errorf("a key allowed every tool of the module reads %q, %v", got, err)
	}
}

// TestPromptsCountAsCalls: getting a prompt or reading a resource may run
// the customer's module, so each counts against the plan's calls a minute
// like a tool call; otherwise a dynamic prompt would run the module past
// the plan's limit.
func TestPromptsCountAsCalls(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	catalog := tier.NewCatalog(e.store)
	if err := catalog.SetPlan(context.Background(), slowPlan); err != nil {
		t.Fatal(err)
	}
	mod := catalogModule(t)
	srv := e.addServer(slowPlan.Name, toolSpec{"note", "note", mod}, toolSpec{"erase", "erase", mod})
	get := `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"greet","arguments":{"who":"x"}}}`
	read := `{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"notes://readme"}}`
	for _, body := range []string{get, read} {
		resp := rawPost(t, e.url(srv.ID), srv.key, body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", body, resp.StatusCode)
		}
	}
	expect429(t, rawPost(t, e.url(srv.ID), srv.key, get), "2 tool calls a minute per customer (getting a prompt or reading a resource counts as one)")
}

// TestDynamicEntriesRunAsToolCalls: a dynamic prompt runs through the same
// path as a tool call: recorded on a server that records payloads (so
// kiln replay can re-run it), and stopped by notifications/cancelled
// naming its request, which the execution log says.
func TestDynamicEntriesRunAsToolCalls(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{payloads: true})
	mod := catalogModule(t)
	srv := e.addServer(bigPlan.Name, toolSpec{"note", "note", mod}, toolSpec{"erase", "erase", mod})
	s := connect(t, e.url(srv.ID), srv.key)
	if _, err := s.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "mood", Arguments: map[string]string{"mood": "calm"}}); err != nil {
		t.Fatal(err)
	}

	done := make(chan string, 1)
	go func() {
		resp := rawPost(t, e.url(srv.ID), srv.key, `{"jsonrpc":"2.0","id":"p-1","method":"prompts/get","params":{"name":"spin"}}`)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(body)
	}()
	cancel := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"p-1","reason":"test"}}`
	var answer string
	// The cancellation reaches the call only once it runs: send it until
	// the call answers (the plan would let it spin for 30 s).
	for answer == "" {
		resp := rawPost(t, e.url(srv.ID), srv.key, cancel)
		resp.Body.Close()
		select {
		case answer = <-done:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.Contains(answer, "cancel") {
		t.Errorf("the cancelled prompt's answer: %s", answer)
	}
	outcomes := map[string]store.Execution{}
	for _, x := range e.executions(srv) {
		outcomes[x.ToolName] = x
	}
	if x := outcomes["prompt:spin"]; x.Outcome != "canceled" {
		t.Errorf("prompt:spin outcome %q, want canceled", x.Outcome)
	}
	x, err := e.store.Execution(context.Background(), outcomes["prompt:mood"].ID)
	if err != nil || len(x.Recording) == 0 {
		t.Fatalf("prompt:mood has no recording: %v", err)
	}
}
