package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// TestMetricsAfterToolCall: a node's /metrics, scraped with the operator
// token after a real tool call over MCP, counts the call by server, tool
// and outcome, with its fuel and memory, and the semconv operation
// histogram with its buckets; without the token it is 401; a client's
// unknown tool name makes no series of its own; arguments never appear;
// a rate limit's refusal is counted by scope, without the address.
func TestMetricsAfterToolCall(t *testing.T) {
	// Three MCP requests a minute from one address: the fourth is refused.
	node := servicetest.Start(t, servicetest.Options{Env: map[string]string{"KILN_MCP_IP_REQUESTS_PER_MINUTE": "3"}})
	for _, token := range []string{"", "wrong"} {
		if resp, _ := node.Do(t, "GET", "/metrics", token, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/metrics with token %q: %s", token, resp.Status)
		}
	}
	srvID, key := echoServer(t, node)
	if out := mcpCall(t, node, srvID, key, "echo", `{"city":"Oslo-secret-argument"}`); !strings.Contains(out, "Oslo") {
		t.Fatalf("tools/call: %s", out)
	}
	mcpCall(t, node, srvID, key, "no-such-tool-from-a-client", `{}`)
	mcpCall(t, node, srvID, key, "no-such-tool-from-a-client", `{}`)
	if out := mcpCall(t, node, srvID, key, "echo", `{}`); !strings.HasPrefix(out, "429") {
		t.Fatalf("the fourth MCP request in a minute: %s", out)
	}
	if err := node.Service.MCP.FlushExecutions(context.Background()); err != nil {
		t.Fatal(err)
	}

	resp, body := node.Do(t, "GET", "/metrics", node.OperatorToken, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s %s", resp.Status, body)
	}
	if strings.Contains(string(body), "Oslo") || strings.Contains(string(body), "no-such-tool") {
		t.Fatal("an argument or a client's tool name is in the metrics")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		for _, m := range families[name].GetMetric() {
			match := 0
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
					match++
				}
			}
			if match == len(labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount())
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				}
			}
		}
		t.Errorf("%s%v: no series", name, labels)
		return -1
	}
	call := map[string]string{"server": srvID, "tool": "echo"}
	if v := value("kiln_tool_calls_total", map[string]string{"server": srvID, "tool": "echo", "outcome": "ok"}); v != 1 {
		t.Errorf("tool calls = %v, want 1", v)
	}
	for _, name := range []string{"kiln_tool_call_fuel", "kiln_tool_call_peak_memory_bytes", "kiln_tool_call_duration_seconds"} {
		if v := value(name, call); v != 1 {
			t.Errorf("%s count = %v, want 1", name, v)
		}
	}
	if v := value("kiln_mcp_requests_total", map[string]string{"server": srvID, "method": "tools/call", "outcome": "ok"}); v != 1 {
		t.Errorf("MCP tools/call requests ok = %v, want 1", v)
	}
	op := families["mcp_server_operation_duration_seconds"]
	if v := value("mcp_server_operation_duration_seconds", map[string]string{"mcp_method_name": "tools/call", "gen_ai_tool_name": "echo", "error_type": ""}); v != 1 {
		t.Errorf("operation histogram count = %v, want 1", v)
	}
	value("mcp_server_operation_duration_seconds", map[string]string{"mcp_method_name": "tools/call", "gen_ai_tool_name": "unknown"})
	var bounds []float64
	for _, b := range op.GetMetric()[0].GetHistogram().GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	bounds = bounds[:len(bounds)-1] // +Inf
	want := []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}
	if len(bounds) != len(want) {
		t.Errorf("buckets %v, want %v", bounds, want)
	}
	for i := range min(len(bounds), len(want)) {
		if bounds[i] != want[i] {
			t.Errorf("buckets %v, want %v", bounds, want)
			break
		}
	}
	if v := value("kiln_db_open_connections", nil); v < 1 {
		t.Errorf("open database connections = %v", v)
	}
	value("kiln_warm_calls_served_total", nil)
	// The call needed the module in some tier: interpreted while its compile
	// runs, compiled here, or loaded from disk.
	if v := value("kiln_modules_interpreted_total", nil) + value("kiln_modules_compiled_total", nil) + value("kiln_modules_from_disk_total", nil); v < 1 {
		t.Errorf("modules prepared in any tier = %v, want at least 1", v)
	}
	value("kiln_artifact_errors_total", nil)
	if v := value("kiln_rate_limit_refusals_total", map[string]string{"scope": "ip"}); v != 1 {
		t.Errorf("rate limit refusals = %v, want 1", v)
	}
}

// echoServer publishes the echo module, deploys it on a new customer's
// server, and returns the server and a key for its MCP endpoint.
func echoServer(t *testing.T, node *servicetest.Node) (serverID, key string) {
	t.Helper()
	resp, body := node.Do(t, "POST", "/api/v1/admin/customers", node.OperatorToken, map[string]string{"name": "m", "tier": "free"})
	var cust struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &cust) != nil {
		t.Fatalf("create customer: %s %s", resp.Status, body)
	}
	resp, body = node.Do(t, "POST", "/api/v1/admin/customers/"+cust.ID+"/keys", node.OperatorToken, map[string]string{"name": "k"})
	var apiKey struct{ Key string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &apiKey) != nil {
		t.Fatalf("create key: %s %s", resp.Status, body)
	}
	node.PublishLibrary(t, "echo", "1.0.0", "free", testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	resp, body = node.Do(t, "POST", "/api/v1/servers", apiKey.Key, map[string]string{"name": "s"})
	var srv struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &srv) != nil {
		t.Fatalf("create server: %s %s", resp.Status, body)
	}
	if resp, body = node.Do(t, "POST", "/api/v1/servers/"+srv.ID+"/tools", apiKey.Key, map[string]any{"library": map[string]any{"name": "echo"}}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("add tool: %s %s", resp.Status, body)
	}
	resp, body = node.Do(t, "POST", "/api/v1/servers/"+srv.ID+"/keys", apiKey.Key, map[string]string{"name": "mcp"})
	var mcpKey struct{ Key string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &mcpKey) != nil {
		t.Fatalf("create server key: %s %s", resp.Status, body)
	}
	return srv.ID, mcpKey.Key
}

// mcpCall sends one stateless tools/call and returns the answer's body.
func mcpCall(t *testing.T, node *servicetest.Node, serverID, key, tool, args string) string {
	t.Helper()
	return mcpRaw(t, node, serverID, key, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":`+strconv.Quote(tool)+`,"arguments":`+args+`}}`)
}
