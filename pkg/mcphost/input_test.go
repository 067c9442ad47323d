package mcphost_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// inputServer deploys the fixture tools that ask their caller for input.
func inputServer(t testing.TB, e *env) server {
	t.Helper()
	mod := conformanceModule(t)
	var tools []toolSpec
	for _, name := range []string{"test_input_required_result_elicitation", "test_input_required_result_multi_round",
		"test_input_required_result_sampling", "test_input_required_result_list_roots", "ask_many", "ask_big_schema", "ask_many_at_once", "ask_same_key_twice",
		"test_input_required_result_multiple_inputs"} {
		tools = append(tools, toolSpec{name, name, mod})
	}
	return e.addServer(bigPlan.Name, tools...)
}

// rpcReply is a JSON-RPC answer: a result or an error.
type rpcReply struct {
	Result map[string]any `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// mrtrCall sends one 2026-07-28 tools/call, as the conformance suite does:
// headers and _meta, with the client capabilities caps.
func mrtrCall(t testing.TB, url, key string, params map[string]any, caps map[string]any) rpcReply {
	t.Helper()
	return mrtrRequest(t, url, key, "tools/call", params, caps)
}

// mrtrRequest sends one 2026-07-28 request of method (tools/call,
// prompts/get) naming params["name"].
func mrtrRequest(t testing.TB, url, key, method string, params map[string]any, caps map[string]any) rpcReply {
	t.Helper()
	params["_meta"] = map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": caps,
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "raw", "version": "1"},
	}
	body := mustJSON(t, map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	name, _ := params["name"].(string)
	if method == "resources/read" {
		name, _ = params["uri"].(string)
	}
	resp := rawPost(t, url, key, body, "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", method, "Mcp-Name", name)
	defer resp.Body.Close()
	return readReply(t, resp)
}

// readReply reads a JSON or SSE answer's JSON-RPC response.
func readReply(t testing.TB, resp *http.Response) rpcReply {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.TrimSpace(string(raw))
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		sc := bufio.NewScanner(strings.NewReader(doc))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(d, `"id"`) {
				doc = d
			}
		}
	}
	var r rpcReply
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatalf("HTTP %d, not a JSON-RPC answer: %s", resp.StatusCode, raw)
	}
	return r
}

var elicitCaps = map[string]any{"elicitation": map[string]any{}}

// answer is an accepted elicitation with content.
func answer(content map[string]any) map[string]any {
	return map[string]any{"action": "accept", "content": content}
}

// firstRound calls ask_many with n questions and returns the state.
func firstRound(t *testing.T, url, key string, n int) string {
	t.Helper()
	r := mrtrCall(t, url, key, map[string]any{"name": "ask_many", "arguments": map[string]any{"n": n}}, elicitCaps)
	if r.Error != nil || r.Result["resultType"] != "input_required" {
		t.Fatalf("first round: %+v", r)
	}
	return r.Result["requestState"].(string)
}

// answerRounds makes a call and retries it with its state and responses
// while it asks for input, up to rounds times; it returns the last reply.
func answerRounds(t testing.TB, url, key string, params, responses map[string]any, caps map[string]any, rounds int) rpcReply {
	t.Helper()
	r := mrtrCall(t, url, key, maps.Clone(params), caps)
	for range rounds {
		if r.Error != nil || r.Result["resultType"] != "input_required" {
			break
		}
		retry := maps.Clone(params)
		retry["requestState"], retry["inputResponses"] = r.Result["requestState"], responses
		r = mrtrCall(t, url, key, retry, caps)
	}
	return r
}

// TestInputRequiredGoClient: the go-sdk client, which answers input
// requests itself (its ElicitationHandler) and retries, gets the final
// result of a one-round and a two-round call; the execution log has a
// row per round, input_required then ok.
func TestInputRequiredGoClient(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := inputServer(t, e)
	client := mcp.NewClient(&mcp.Implementation{Name: "kiln-test", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, r *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			if strings.Contains(r.Params.Message, "color") {
				return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"color": "teal"}}, nil
			}
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	})
	session, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   e.url(srv.ID),
		HTTPClient: &http.Client{Transport: headers{http.Header{"Authorization": {"Bearer " + srv.key}}, http.DefaultTransport}},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	if got := text(call(t, session, "test_input_required_result_elicitation", map[string]any{})); got != "Hello, Ada!" {
		t.Fatalf("one round: %q", got)
	}
	if got := text(call(t, session, "test_input_required_result_multi_round", map[string]any{})); got != "Multi-round complete: Ada likes teal" {
		t.Fatalf("two rounds: %q", got)
	}
	var outcomes []string
	for _, x := range e.executions(srv) {
		outcomes = append(outcomes, x.ToolName+":"+x.Outcome)
	}
	want := "test_input_required_result_multi_round:ok test_input_required_result_multi_round:input_required " +
		"test_input_required_result_multi_round:input_required test_input_required_result_elicitation:ok " +
		"test_input_required_result_elicitation:input_required"
	if strings.Join(outcomes, " ") != want {
		t.Fatalf("execution log: %v", outcomes)
	}
}

// TestInputStateRefused: a requestState that was changed, or used by
// another caller, for other arguments, or after its expiry, is refused
// with a JSON-RPC error saying which; the right one completes the call.
func TestInputStateRefused(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	e := newEnv(t, storetest.SQLite(t).WithClock(clock.Now), envOptions{})
	srv := inputServer(t, e)
	url := e.url(srv.ID)
	other := e.addKey(srv.CustomerID, &srv.ID)
	state := firstRound(t, url, srv.key, 1)
	retry := func(key string, n int, state string) rpcReply {
		return mrtrCall(t, url, key, map[string]any{"name": "ask_many", "arguments": map[string]any{"n": n},
			"inputResponses": map[string]any{"q1": answer(map[string]any{"a": "yes"})}, "requestState": state}, elicitCaps)
	}
	tampered := []byte(state)
	tampered[3] ^= 1
	for _, c := range []struct {
		name, key, state, want string
		n                      int
	}{
		{"tampered", srv.key, string(tampered), "integrity check", 1},
		{"suffix", srv.key, state + "-TAMPERED", "integrity check", 1},
		{"other caller", other, state, "another caller", 1},
		{"other arguments", srv.key, state, "issued for another call", 2},
		{"too large", srv.key, strings.Repeat("A", 64<<10+1), "larger than any state", 1},
	} {
		r := retry(c.key, c.n, c.state)
		if r.Error == nil || !strings.Contains(r.Error.Message, c.want) {
			t.Errorf("%s: want an error containing %q, got %+v", c.name, c.want, r)
		}
	}
	if r := retry(srv.key, 1, state); r.Error != nil || r.Result["resultType"] != "complete" {
		t.Fatalf("the right state: %+v", r)
	}
	clock.Add(11 * time.Minute)
	if r := retry(srv.key, 1, state); r.Error == nil || !strings.Contains(r.Error.Message, "expired") {
		t.Fatalf("expired: %+v", r)
	}
}

// TestInputOlderRevision: a client on 2025-11-25, which has no
// multi-round results and which a stateless server cannot send requests
// to, gets a tool error naming the revision it needs.
func TestInputOlderRevision(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := inputServer(t, e)
	body := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_input_required_result_elicitation","arguments":{}}}`
	resp := rawPost(t, e.url(srv.ID), srv.key, body, "MCP-Protocol-Version", "2025-11-25")
	defer resp.Body.Close()
	r := readReply(t, resp)
	if r.Error != nil || r.Result["isError"] != true || !strings.Contains(mustJSON(t, r.Result), "needs MCP protocol 2026-07-28") &&
		!strings.Contains(mustJSON(t, r.Result), "can only do with MCP protocol 2026-07-28") {
		t.Fatalf("older revision: %+v", r)
	}
}

// TestInputMissingCapability: a client that did not declare elicitation
// gets SEP-2575's error, not a question it cannot answer; an answer of
// the wrong kind, or outside the requested schema, is refused; a declined
// question reaches the tool.
func TestInputMissingCapability(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := inputServer(t, e)
	r := mrtrCall(t, e.url(srv.ID), srv.key, map[string]any{"name": "test_input_required_result_elicitation", "arguments": map[string]any{}},
		map[string]any{"sampling": map[string]any{}})
	if r.Error == nil || r.Error.Code != mcp.CodeMissingRequiredClientCapabilities || !strings.Contains(r.Error.Message, "elicitation/create") {
		t.Fatalf("missing capability: %+v", r)
	}
	r = answerRounds(t, e.url(srv.ID), srv.key, map[string]any{"name": "test_input_required_result_sampling", "arguments": map[string]any{}},
		map[string]any{"capital_question": answer(map[string]any{"a": "b"})}, map[string]any{"sampling": map[string]any{}}, 1)
	if r.Error == nil || !strings.Contains(r.Error.Message, "does not answer a sampling/createMessage request") {
		t.Fatalf("an elicitation result answering a sampling request: %+v", r)
	}
	ask1 := map[string]any{"name": "ask_many", "arguments": map[string]any{"n": 1}}
	r = answerRounds(t, e.url(srv.ID), srv.key, ask1, map[string]any{"q1": answer(map[string]any{"b": 1})}, elicitCaps, 1)
	if r.Error == nil || !strings.Contains(r.Error.Message, "does not match the requested schema") {
		t.Fatalf("an answer outside the requested schema: %+v", r)
	}
	r = answerRounds(t, e.url(srv.ID), srv.key, ask1, map[string]any{"q1": map[string]any{"action": "decline"}}, elicitCaps, 1)
	if r.Error != nil || r.Result["resultType"] != "complete" {
		t.Fatalf("a declined question: %+v", r)
	}
}

// TestInputLimits crosses each limit: questions per call, rounds, the size
// of the state, and the size of a requested schema.
func TestInputLimits(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{inputs: mcphost.InputLimits{PerCall: 2, Rounds: 2, StateBytes: 2048}})
	srv := inputServer(t, e)
	url := e.url(srv.ID)
	isToolError := func(what string, r rpcReply, want string) {
		t.Helper()
		if r.Error != nil || r.Result["isError"] != true || !strings.Contains(mustJSON(t, r.Result), want) {
			t.Errorf("%s: want a tool error containing %q, got %+v", what, want, r)
		}
	}
	all := map[string]any{"q1": answer(map[string]any{"a": "1"}), "q2": answer(map[string]any{"a": "2"}), "q3": answer(map[string]any{"a": "3"})}
	// A first call may answer ahead by key (no state: no question shown).
	askTwo := map[string]any{"name": "ask_many", "arguments": map[string]any{"n": 2}}
	first := maps.Clone(askTwo)
	first["inputResponses"] = all
	if r := mrtrCall(t, url, srv.key, first, elicitCaps); r.Error != nil || !strings.Contains(mustJSON(t, r.Result), "answers: 1,2") {
		t.Fatalf("inputResponses ahead, without a requestState: %+v", r)
	}
	// Within the limits: two questions, answered in two rounds.
	if r := answerRounds(t, url, srv.key, askTwo, all, elicitCaps, 2); r.Error != nil || !strings.Contains(mustJSON(t, r.Result), "answers: 1,2") {
		t.Fatalf("within the limits: %+v", r)
	}
	r := answerRounds(t, url, srv.key, map[string]any{"name": "ask_many", "arguments": map[string]any{"n": 3}}, all, elicitCaps, 2)
	isToolError("questions per call", r, "more than 2 times")
	// The same limit for questions asked in one round (kiln.AskAll).
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "ask_many_at_once", "arguments": map[string]any{"n": 3}}, elicitCaps)
	isToolError("questions per round", r, "more than 2 times")
	if r := mrtrCall(t, url, srv.key, map[string]any{"name": "ask_many_at_once", "arguments": map[string]any{"n": 2}}, elicitCaps); r.Error != nil ||
		r.Result["resultType"] != "input_required" || len(r.Result["inputRequests"].(map[string]any)) != 2 {
		t.Fatalf("two questions in one round, within the limit: %+v", r)
	}
	// Rounds: the first asks q1, the second (q1 answered) asks q2, and a
	// third would pass the limit of 2.
	state := firstRound(t, url, srv.key, 2)
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "ask_many", "arguments": map[string]any{"n": 2},
		"inputResponses": map[string]any{"q1": answer(map[string]any{"a": "1"})}, "requestState": state}, elicitCaps)
	if r.Error != nil || r.Result["resultType"] != "input_required" {
		t.Fatalf("round 2: %+v", r)
	}
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "ask_many", "arguments": map[string]any{"n": 2},
		"requestState": r.Result["requestState"]}, elicitCaps)
	isToolError("rounds", r, "more than 2 rounds")
	big := map[string]any{"q1": answer(map[string]any{"a": strings.Repeat("x", 3000)})}
	r = answerRounds(t, url, srv.key, askTwo, big, elicitCaps, 1)
	isToolError("state size", r, "2048 byte limit")
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "ask_big_schema", "arguments": map[string]any{}}, elicitCaps)
	isToolError("schema size", r, "exceeds 8192")
}

// TestTypeScriptElicitation: the TypeScript SDK's transport at 2026-07-28
// (testdata/js/mrtr-client.mjs) gets the input-required result, answers
// the elicitation and gets the tool's final result in the second round.
func TestTypeScriptElicitation(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := inputServer(t, e)
	out, err := testmodules.NodeScript(t, "mrtr-client.mjs", e.url(srv.ID), srv.key,
		"test_input_required_result_elicitation", "Grace")
	if err != nil {
		t.Fatalf("the TypeScript client failed: %v", err)
	}
	type round struct {
		Round         int            `json:"round"`
		ResultType    string         `json:"resultType"`
		InputRequests map[string]any `json:"inputRequests"`
		Text          string         `json:"text"`
	}
	var rounds []round
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r round
		if json.Unmarshal([]byte(l), &r) == nil && r.Round > 0 {
			rounds = append(rounds, r)
		}
	}
	if len(rounds) != 2 || rounds[0].ResultType != "input_required" || rounds[0].InputRequests["user_name"] == nil ||
		rounds[1].ResultType != "complete" || rounds[1].Text != "Hello, Grace!" {
		t.Fatalf("rounds: %+v", rounds)
	}
}

// BenchmarkInputRound measures a call that stops for input and the retry
// that completes it, against a call of the same module that asks nothing.
// The three alternate in each iteration, so that load on the machine
// weighs on each alike; the ratios to the call without a question are
// the result (a round costs a run up to the question, an instance not
// reused, and sealing or opening the state).
func BenchmarkInputRound(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b), envOptions{ipLimit: 1_000_000})
	srv := e.addServer(bigPlan.Name, toolSpec{"ask_many", "ask_many", conformanceModule(b)})
	url := e.url(srv.ID)
	one := map[string]any{"q1": answer(map[string]any{"a": "1"})}
	first := mrtrCall(b, url, srv.key, map[string]any{"name": "ask_many", "arguments": map[string]any{"n": 1}}, elicitCaps)
	calls := []map[string]any{
		{"name": "ask_many", "arguments": map[string]any{"n": 0}},
		{"name": "ask_many", "arguments": map[string]any{"n": 1}},
		// A state may be replayed within its expiry (see input.go).
		{"name": "ask_many", "arguments": map[string]any{"n": 1}, "inputResponses": one, "requestState": first.Result["requestState"]},
	}
	run := func(i int) time.Duration {
		start := time.Now()
		if r := mrtrCall(b, url, srv.key, maps.Clone(calls[i]), elicitCaps); r.Error != nil || r.Result["isError"] == true {
			b.Fatalf("%+v %s", r, mustJSON(b, r.Error))
		}
		return time.Since(start)
	}
	for range 20 { // compile and warm the module's pool first
		run(2)
	}
	var total [3]time.Duration
	for b.Loop() {
		for i := range calls {
			total[i] += run(i)
		}
	}
	b.ReportMetric(float64(total[1])/float64(total[0]), "input-required/no-question")
	b.ReportMetric(float64(total[2])/float64(total[0]), "answered/no-question")
}

// TestInputAtOnce: a module asking several questions in one round
// (kiln.AskAll) gets them to the client in one input-required result; a
// retry answering some gets the others asked again, with the given
// answers kept in the state; the last retry completes.
func TestInputAtOnce(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := inputServer(t, e)
	url := e.url(srv.ID)
	call := func(extra map[string]any) rpcReply {
		params := map[string]any{"name": "ask_many_at_once", "arguments": map[string]any{"n": 3}}
		maps.Copy(params, extra)
		return mrtrCall(t, url, srv.key, params, elicitCaps)
	}
	keys := func(r rpcReply) string {
		t.Helper()
		reqs, ok := r.Result["inputRequests"].(map[string]any)
		if r.Error != nil || r.Result["resultType"] != "input_required" || !ok {
			t.Fatalf("want an input-required result: %+v", r)
		}
		return strings.Join(slices.Sorted(maps.Keys(reqs)), ",")
	}
	r := call(nil)
	if got := keys(r); got != "q1,q2,q3" {
		t.Fatalf("round 1 asks %s", got)
	}
	r = call(map[string]any{"requestState": r.Result["requestState"],
		"inputResponses": map[string]any{"q1": answer(map[string]any{"a": "1"}), "q3": answer(map[string]any{"a": "3"})}})
	if got := keys(r); got != "q2" {
		t.Fatalf("round 2 asks %s", got)
	}
	r = call(map[string]any{"requestState": r.Result["requestState"],
		"inputResponses": map[string]any{"q2": answer(map[string]any{"a": "2"})}})
	if r.Error != nil || !strings.Contains(mustJSON(t, r.Result), "answers: 1,2,3") {
		t.Fatalf("round 3: %+v", r)
	}

	// Two unanswered questions under one key could not be answered apart:
	// the round ends with a tool error, not an input-required result.
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "ask_same_key_twice", "arguments": map[string]any{}}, elicitCaps)
	if r.Error != nil || r.Result["isError"] != true || !strings.Contains(mustJSON(t, r.Result), `two questions under the key \"dup\"`) {
		t.Fatalf("same key twice: %+v", r)
	}
	// Elicitation, sampling and roots in one result: each needs its
	// capability.
	all := map[string]any{"elicitation": map[string]any{}, "sampling": map[string]any{}, "roots": map[string]any{"listChanged": true}}
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "test_input_required_result_multiple_inputs", "arguments": map[string]any{}}, all)
	if got := keys(r); got != "client_roots,greeting,user_name" {
		t.Fatalf("three kinds ask %s", got)
	}
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "test_input_required_result_multiple_inputs", "arguments": map[string]any{}}, elicitCaps)
	if r.Error == nil || r.Error.Code != mcp.CodeMissingRequiredClientCapabilities {
		t.Fatalf("without the sampling capability: %+v", r)
	}
}

// TestInputPrompt: a dynamic prompt asks for input as a tool does: an
// input-required GetPromptResult, completed by the retry; its state is
// bound to the prompt (a tool's state is refused, and the other way
// round); a dynamic resource likewise; an older client gets a JSON-RPC
// error naming 2026-07-28.
func TestInputPrompt(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := inputServer(t, e)
	url := e.url(srv.ID)
	get := func(extra map[string]any) rpcReply {
		params := map[string]any{"name": "test_input_required_result_prompt"}
		maps.Copy(params, extra)
		return mrtrRequest(t, url, srv.key, "prompts/get", params, elicitCaps)
	}
	r := get(nil)
	state, _ := r.Result["requestState"].(string)
	if r.Error != nil || r.Result["resultType"] != "input_required" || state == "" ||
		!strings.Contains(mustJSON(t, r.Result["inputRequests"]), `"user_context"`) {
		t.Fatalf("round 1: %+v", r)
	}
	ctxAnswer := map[string]any{"user_context": answer(map[string]any{"context": "tests"})}
	r = get(map[string]any{"requestState": state, "inputResponses": ctxAnswer})
	if r.Error != nil || r.Result["resultType"] != "complete" || !strings.Contains(mustJSON(t, r.Result["messages"]), "Context: tests") {
		t.Fatalf("round 2: %+v", r)
	}
	// The prompt's state on a tool call, and a tool's on the prompt.
	r = mrtrCall(t, url, srv.key, map[string]any{"name": "ask_many", "arguments": map[string]any{"n": 1}, "requestState": state}, elicitCaps)
	if r.Error == nil || !strings.Contains(r.Error.Message, "issued for another call") {
		t.Fatalf("a prompt's state on a tool: %+v", r)
	}
	r = get(map[string]any{"requestState": firstRound(t, url, srv.key, 1), "inputResponses": ctxAnswer})
	if r.Error == nil || !strings.Contains(r.Error.Message, "issued for another call") {
		t.Fatalf("a tool's state on the prompt: %+v", r)
	}
	// A dynamic resource asks the same way, its state bound to the
	// resource: the prompt's is refused.
	read := func(extra map[string]any) rpcReply {
		params := map[string]any{"uri": "test://asks-context"}
		maps.Copy(params, extra)
		return mrtrRequest(t, url, srv.key, "resources/read", params, elicitCaps)
	}
	r = read(nil)
	if r.Error != nil || r.Result["resultType"] != "input_required" || !strings.Contains(mustJSON(t, r.Result["inputRequests"]), `"user_context"`) {
		t.Fatalf("resource, round 1: %+v", r)
	}
	rstate := r.Result["requestState"]
	if r = read(map[string]any{"requestState": state, "inputResponses": ctxAnswer}); r.Error == nil || !strings.Contains(r.Error.Message, "issued for another call") {
		t.Fatalf("a prompt's state on a resource: %+v", r)
	}
	r = read(map[string]any{"requestState": rstate, "inputResponses": ctxAnswer})
	if r.Error != nil || !strings.Contains(mustJSON(t, r.Result["contents"]), "Context: tests") {
		t.Fatalf("resource, round 2: %+v", r)
	}
	body := `{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"test_input_required_result_prompt"}}`
	resp := rawPost(t, url, srv.key, body, "MCP-Protocol-Version", "2025-11-25")
	defer resp.Body.Close()
	if r := readReply(t, resp); r.Error == nil || !strings.Contains(r.Error.Message, "can only do with MCP protocol 2026-07-28") {
		t.Fatalf("older revision: %+v", r)
	}
}
