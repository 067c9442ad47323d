package mcphost_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestServeTools: a deployed server lists its tools with the manifest's
// schemas, and a call returns the module's content and structured content.
func TestServeTools(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, envOptions{})
		srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)}, toolSpec{"say", "echo", toolsModule(t)})
		if err := e.host.Deploy(context.Background(), srv.ID); err != nil {
			t.Fatal(err)
		}
		session := connect(t, e.url(srv.ID), srv.key)
		list, err := session.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Tools) != 2 || list.Tools[0].Name != "echo" || list.Tools[1].Name != "say" {
			t.Fatalf("tools: %s", mustJSON(t, list.Tools))
		}
		in := mustJSON(t, list.Tools[0].InputSchema)
		if !strings.Contains(in, `"text"`) || !strings.Contains(in, `"required":["text"]`) {
			t.Fatalf("input schema %s", in)
		}
		if out := mustJSON(t, list.Tools[0].OutputSchema); !strings.Contains(out, `"length"`) {
			t.Fatalf("output schema %s", out)
		}
		res := call(t, session, "say", map[string]any{"text": "héllo"})
		if res.IsError {
			t.Fatalf("error result: %s", text(res))
		}
		var got struct {
			Text   string `json:"text"`
			Length int    `json:"length"`
		}
		if err := json.Unmarshal([]byte(mustJSON(t, res.StructuredContent)), &got); err != nil || got.Text != "héllo" || got.Length != 5 {
			t.Fatalf("structured content %s (%v)", mustJSON(t, res.StructuredContent), err)
		}
		if !strings.Contains(text(res), `"length":5`) {
			t.Fatalf("text content %q", text(res))
		}

		// Arguments are validated against the input schema before the
		// module runs; the agent gets a sentence it can act on.
		bad := call(t, session, "echo", map[string]any{"text": 3})
		if !bad.IsError || !strings.Contains(text(bad), "Invalid arguments") {
			t.Fatalf("invalid arguments: %s", text(bad))
		}
		// An unknown tool is a protocol error, as the SDK answers it.
		if _, err := session.CallTool(context.Background(), &mcp.CallToolParams{Name: "nope"}); err == nil {
			t.Fatal("an unknown tool was called")
		}

		// Every call is in the execution log, without arguments or results.
		waitFor(t, 2e9, "three executions", func() bool { return len(e.executions(srv)) == 2 })
		for _, x := range e.executions(srv) {
			if x.Arguments != nil || x.Result != nil {
				t.Fatalf("payloads recorded: %+v", x)
			}
			if !strings.HasPrefix(x.Actor, "key:") || x.ModuleHash == "" {
				t.Fatalf("execution %+v", x)
			}
		}
		ok := e.executions(srv)[1]
		if ok.Outcome != "ok" || ok.ToolName != "say" || ok.FuelUsed <= 0 || ok.MemoryPeak <= 0 || ok.Duration <= 0 {
			t.Fatalf("ok execution %+v", ok)
		}
		if x := e.executions(srv)[0]; x.Outcome != "tool_error" || x.FuelUsed != 0 || !strings.Contains(x.Detail, "Invalid arguments") {
			t.Fatalf("invalid-arguments execution %+v", x)
		}
	})
}

// TestRecordPayloads: when the owner asked for it, arguments and results
// are kept.
func TestRecordPayloads(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{payloads: true})
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	call(t, connect(t, e.url(srv.ID), srv.key), "echo", map[string]any{"text": "kept"})
	xs := e.executions(srv)
	if len(xs) != 1 || !strings.Contains(string(xs[0].Arguments), "kept") || !strings.Contains(string(xs[0].Result), "kept") {
		t.Fatalf("executions %+v", xs)
	}
}

// TestLimitsReachTheClient: fuel, time and memory limits each end a call as
// a tool error that says which limit and what to do, and the server keeps
// serving other calls, during and after.
func TestLimitsReachTheClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, envOptions{})
		mod := toolsModule(t)
		tools := []toolSpec{{"spin", "spin", mod}, {"grow", "grow", mod}, {"echo", "echo", mod}, {"crash", "crash", mod}}
		fuelSrv := e.addServer(fuelPlan.Name, tools...)
		timeSrv := e.addServer(timePlan.Name, tools...)
		fuel := connect(t, e.url(fuelSrv.ID), fuelSrv.key)
		timed := connect(t, e.url(timeSrv.ID), timeSrv.key)

		for _, tc := range []struct {
			session       *mcp.ClientSession
			tool, outcome string
			says          []string
		}{
			{fuel, "spin", "fuel_exhausted", []string{"compute budget", "60000000 fuel units", "fuel-test plan", "smaller input"}},
			{timed, "spin", "timeout", []string{"did not finish within 400ms", "time-test plan"}},
			{fuel, "grow", "memory_limit", []string{"more than 32 MiB of memory", "fuel-test plan"}},
			{fuel, "crash", "trap", []string{"crashed", "the fixture crashed on purpose"}},
		} {
			// A well-behaved call runs alongside the one that hits a limit.
			other := make(chan *mcp.CallToolResult, 1)
			go func() {
				r, _ := tc.session.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "still here"}})
				other <- r
			}()
			res := call(t, tc.session, tc.tool, map[string]any{})
			if !res.IsError {
				t.Fatalf("%s: not an error: %s", tc.tool, text(res))
			}
			for _, want := range tc.says {
				if !strings.Contains(text(res), want) {
					t.Errorf("%s (%s): %q does not say %q", tc.tool, tc.outcome, text(res), want)
				}
			}
			if r := <-other; r == nil || r.IsError || !strings.Contains(text(r), "still here") {
				t.Fatalf("the concurrent call failed: %v", r)
			}
		}
		for _, srv := range []server{fuelSrv, timeSrv} {
			var outcomes []string
			for _, x := range e.executions(srv) {
				outcomes = append(outcomes, x.Outcome)
			}
			t.Logf("%s: %v", srv.Name, outcomes)
		}
		got := map[string]bool{}
		for _, x := range append(e.executions(fuelSrv), e.executions(timeSrv)...) {
			got[x.ToolName+":"+x.Outcome] = true
		}
		for _, want := range []string{"spin:fuel_exhausted", "spin:timeout", "grow:memory_limit", "crash:trap", "echo:ok"} {
			if !got[want] {
				t.Errorf("execution log lacks %s: %v", want, got)
			}
		}
		// The crash keeps the host's detail and the module's console.
		for _, x := range e.executions(fuelSrv) {
			if x.Outcome == "trap" && (!strings.Contains(x.Detail, "the fixture crashed on purpose") || !strings.Contains(string(x.Logs), "console")) {
				t.Errorf("trap execution: detail %q, logs %s", x.Detail, x.Logs)
			}
		}
		// And after all that, the server still answers.
		if r := call(t, fuel, "echo", map[string]any{"text": "after"}); r.IsError {
			t.Fatalf("after the limits: %s", text(r))
		}
	})
}

// TestEnv: stored values reach the module, per-request headers only for
// perRequest vars, secrets never enter the module, and every header that
// is not allowed is a 400 naming the problem.
func TestEnv(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	ctx := context.Background()
	srv := e.addServer(bigPlan.Name, toolSpec{"env", "env", toolsModule(t)})
	for name, secret := range map[string]bool{"GREETING": false, "API_KEY": true, "TOKEN": false} {
		v := store.EnvVar{ServerID: srv.ID, Name: name, Secret: secret}
		if err := e.store.PutEnvVar(ctx, &v); err != nil {
			t.Fatal(err)
		}
	}
	for name, value := range map[string]string{"GREETING": "hello", "API_KEY": "sk-very-secret", "TOKEN": "stored-token"} {
		sealed, err := e.box.Seal([]byte(value), []byte("kiln env value\x00"+srv.ID+"\x00"+name))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetEnvValue(ctx, srv.ID, name, sealed); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.host.Reload(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	got := text(call(t, connect(t, e.url(srv.ID), srv.key), "env", map[string]any{}))
	if got != "GREETING=hello TOKEN=stored-token API_KEY=" {
		t.Fatalf("stored env: %q", got)
	}
	got = text(call(t, connect(t, e.url(srv.ID), srv.key, "X-Kiln-Env-TOKEN", "from-header"), "env", map[string]any{}))
	if got != "GREETING=hello TOKEN=from-header API_KEY=" {
		t.Fatalf("per-request env: %q", got)
	}
	// The dash spelling, for proxies that drop headers with underscores.
	got = text(call(t, connect(t, e.url(srv.ID), srv.key, "X-Kiln-Env-Token", "dashed"), "env", map[string]any{}))
	if got != "GREETING=hello TOKEN=dashed API_KEY=" {
		t.Fatalf("per-request env, any case: %q", got)
	}

	for _, tc := range []struct{ header, value, says string }{
		{"X-Kiln-Env-GREETING", "x", "does not accept GREETING per request"},
		{"X-Kiln-Env-PATH", "/bin", "does not accept PATH per request. It accepts X-Kiln-Env-TOKEN"},
		{"X-Kiln-Env-API_KEY", "x", "does not accept API_KEY"},
		{"X-Kiln-Env-9LIVES", "x", "is not an env var name"},
		{"X-Kiln-Env-TOKEN", strings.Repeat("a", 4097), "at most 4096"},
		{"X-Kiln-Env-TOKEN", "a\tb", "without control characters"},
	} {
		resp := rawPost(t, e.url(srv.ID), srv.key, initializeBody, tc.header, tc.value)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s: %d %s", tc.header, resp.StatusCode, body)
		}
	}
}
