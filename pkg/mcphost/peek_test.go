package mcphost_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// callArgs is the params of a call of echo, as callBody sends it.
const callArgs = `"params":{"name":"echo","arguments":{"text":"x"}}`

// TestCustomerLimitReadsBodiesAsTheSDK: a body that a lenient decoder reads
// as something other than a tool call, and the SDK runs as one, is counted
// as a tool call. Each body below ran a tool past the customer's 429 when
// Kiln read bodies with encoding/json.
func TestCustomerLimitReadsBodiesAsTheSDK(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	if err := e.catalog.SetPlan(context.Background(), slowPlan); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, body string }{
		// encoding/json matches keys in any case; the last one wins.
		{"case variant key", `{"jsonrpc":"2.0","id":%d,"method":"tools/call","Method":"ping",` + callArgs + `}`},
		{"duplicate key", `{"jsonrpc":"2.0","id":%d,"method":"ping","method":"tools/call",` + callArgs + `}`},
		// \u004d is "M": the key is "Method" once unescaped.
		{"unicode escaped keys", `{"jsonrpc":"2.0","id":%d,"\u006dethod":"tools/call","\u004dethod":"ping",` + callArgs + `}`},
		// The SDK reads the first value and ignores the rest.
		{"trailing value", `{"jsonrpc":"2.0","id":%d,"method":"tools/call",` + callArgs + `} {"jsonrpc":"2.0","method":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := e.addServer(slowPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
			for id := 1; id <= slowPlan.CallsPerMinute; id++ {
				expectOK(t, rawPost(t, e.url(srv.ID), srv.key, fmt.Sprintf(tc.body, id)))
			}
			expect429(t, rawPost(t, e.url(srv.ID), srv.key, fmt.Sprintf(tc.body, 9)), "2 tool calls a minute per customer")
			if n := len(e.executions(srv)); n != slowPlan.CallsPerMinute {
				t.Fatalf("%d executions, want %d", n, slowPlan.CallsPerMinute)
			}
		})
	}
}

// batch is a JSON-RPC batch of the given messages.
func batch(msgs ...string) string { return "[" + strings.Join(msgs, ",") + "]" }

// TestBatchCountsEveryCall: a batch costs one tool call per call in it,
// and one request per message.
func TestBatchCountsEveryCall(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	if err := e.catalog.SetPlan(context.Background(), slowPlan); err != nil {
		t.Fatal(err)
	}
	// Three calls against a limit of two: refused whole, nothing runs.
	srv := e.addServer(slowPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	expect429(t, rawPost(t, e.url(srv.ID), srv.key, batch(callBody(1), callBody(2), callBody(3))), "2 tool calls a minute per customer")
	if n := len(e.executions(srv)); n != 0 {
		t.Fatalf("%d executions of a refused batch", n)
	}

	// Two calls run, and use up the minute's budget.
	srv = e.addServer(slowPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	expectOK(t, rawPost(t, e.url(srv.ID), srv.key, batch(callBody(1), callBody(2))))
	if n := len(e.executions(srv)); n != 2 {
		t.Fatalf("%d executions of a batch of two calls, want 2", n)
	}
	expect429(t, rawPost(t, e.url(srv.ID), srv.key, callBody(3)), "2 tool calls a minute per customer")

	// Each message costs a request: the server's 8 a minute are used up by
	// two calls (above) and a batch of six lists, and a seventh is refused.
	lists := make([]string, 7)
	for i := range lists {
		lists[i] = listBody(10 + i)
	}
	expectOK(t, rawPost(t, e.url(srv.ID), srv.key, batch(lists[:6]...)))
	expect429(t, rawPost(t, e.url(srv.ID), srv.key, lists[6]), "8 MCP requests a minute per server")
}

// TestBatchesRefused: batches over the size bound, on protocol revisions
// without batches, and bodies that are not JSON-RPC are 400s from Kiln,
// before any limit is charged.
func TestBatchesRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	lists := make([]string, 33)
	for i := range lists {
		lists[i] = listBody(i + 1)
	}
	// 32 messages are accepted.
	expectOK(t, rawPost(t, e.url(srv.ID), srv.key, batch(lists[:32]...)))
	for _, tc := range []struct {
		name, body, says string
		header           []string
	}{
		{"over the bound", batch(lists...), "a batch of 33 messages, more than the 32 Kiln accepts", nil},
		{"protocol without batches", batch(callBody(1)), "MCP 2025-06-18 has none", []string{"MCP-Protocol-Version", "2025-06-18"}},
		{"empty batch", "[]", "an empty batch", nil},
		{"bad message in a batch", batch(callBody(1), `{"jsonrpc":"1.0","id":2,"method":"tools/call"}`), "message 2 of the batch is not JSON-RPC", nil},
		{"not JSON", `{"jsonrpc":"2.0","id":1,`, "it is not JSON-RPC", nil},
		{"not an object", `"tools/call"`, "it is not JSON-RPC", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawPost(t, e.url(srv.ID), srv.key, tc.body, tc.header...)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.says) {
				t.Fatalf("want 400 saying %q: %d %s", tc.says, resp.StatusCode, body)
			}
		})
	}
	if n := len(e.executions(srv)); n != 0 {
		t.Fatalf("%d executions from refused bodies", n)
	}
}
