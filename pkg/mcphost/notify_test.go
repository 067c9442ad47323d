package mcphost_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

func echoWATModule(t testing.TB) []byte { return testmodules.WAT(t, "toolkits/wat/echo.wasm") }

// heard is what a go-sdk client was told during its calls.
type heard struct {
	mu       sync.Mutex
	progress []*mcp.ProgressNotificationParams
	logs     []*mcp.LoggingMessageParams
}

func (h *heard) take() ([]*mcp.ProgressNotificationParams, []*mcp.LoggingMessageParams) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, l := h.progress, h.logs
	h.progress, h.logs = nil, nil
	return p, l
}

// listen connects a go-sdk client that records progress and log
// notifications.
func listen(t *testing.T, url, key string) (*mcp.ClientSession, *heard) {
	t.Helper()
	h := &heard{}
	client := mcp.NewClient(&mcp.Implementation{Name: "kiln-test", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			h.mu.Lock()
			h.progress = append(h.progress, r.Params)
			h.mu.Unlock()
		},
		LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
			h.mu.Lock()
			h.logs = append(h.logs, r.Params)
			h.mu.Unlock()
		},
	})
	session, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: headers{http.Header{"Authorization": {"Bearer " + key}}, http.DefaultTransport}},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { session.Close() })
	return session, h
}

// wait waits until at least the given numbers of notifications arrived.
func (h *heard) wait(t *testing.T, progress, logs int) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("%d progress and %d log notifications", progress, logs), func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.progress) >= progress && len(h.logs) >= logs
	})
}

// callWithToken calls a tool with a progressToken (none if nil) and, as a
// 2026-07-28 client must to get log messages, a log level in _meta (the
// go-sdk client speaks that revision to Kiln).
func callWithToken(t *testing.T, s *mcp.ClientSession, name string, args any, token any, level ...mcp.LoggingLevel) *mcp.CallToolResult {
	t.Helper()
	params := &mcp.CallToolParams{Name: name, Arguments: args, Meta: mcp.Meta{}}
	if token != nil {
		params.Meta["progressToken"] = token
	}
	if len(level) > 0 {
		params.Meta[mcp.MetaKeyLogLevel] = level[0]
	}
	res, err := s.CallTool(context.Background(), params)
	if err != nil {
		t.Fatalf("calling %s: %v", name, err)
	}
	return res
}

// TestProgressAndLogNotifications: an ABI v2 tool's progress reports reach
// the client as notifications/progress with the call's progressToken (and
// not at all without one), its log messages as notifications/message at or
// above the level the request asks for (none without one, on 2026-07-28),
// named by their logger or the tool; tools/list serves its title and
// annotations; a version 1 module beside it loads, runs and logs as before.
func TestProgressAndLogNotifications(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	mod := toolsModule(t)
	srv := e.addServer(bigPlan.Name, toolSpec{"report", "report", mod}, toolSpec{"count", "count", mod},
		toolSpec{"echo_v1", "echo", echoWATModule(t)})
	session, h := listen(t, e.url(srv.ID), srv.key)

	list, err := session.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*mcp.Tool{}
	for _, tool := range list.Tools {
		got[tool.Name] = tool
	}
	if r := got["report"]; r == nil || r.Title != "Report progress" || r.Annotations == nil || !r.Annotations.ReadOnlyHint ||
		!r.Annotations.IdempotentHint || r.Annotations.OpenWorldHint == nil || *r.Annotations.OpenWorldHint || r.Annotations.DestructiveHint != nil {
		t.Fatalf("report listed as %s", mustJSON(t, r))
	}
	if c := got["count"]; c == nil || c.Annotations == nil || c.Annotations.Title != "Count" || c.Annotations.DestructiveHint == nil || *c.Annotations.DestructiveHint {
		t.Fatalf("count listed as %s", mustJSON(t, c))
	}
	if v1 := got["echo_v1"]; v1 == nil || v1.Annotations != nil {
		t.Fatalf("the version 1 tool listed as %s", mustJSON(t, v1))
	}

	res := callWithToken(t, session, "report", map[string]any{"steps": 3}, "tok-1", "info")
	if res.IsError || !strings.Contains(text(res), `"steps":3`) {
		t.Fatalf("report: %s", text(res))
	}
	// The server sends them before its answer; the go-sdk client hands
	// notifications to their handlers on goroutines of their own.
	h.wait(t, 3, 4)
	progress, logs := h.take()
	if len(progress) != 3 {
		t.Fatalf("%d progress notifications: %s", len(progress), mustJSON(t, progress))
	}
	for i, p := range progress {
		if p.ProgressToken != "tok-1" || p.Progress != float64(i+1) || p.Total != 3 || p.Message != fmt.Sprintf("step %d of 3", i+1) {
			t.Fatalf("progress %d: %s", i, mustJSON(t, p))
		}
	}
	var lines []string
	for _, l := range logs {
		lines = append(lines, fmt.Sprintf("%s %s %s", l.Level, l.Logger, mustJSON(t, l.Data)))
	}
	want := []string{
		`info report {"msg":"step done","step":1}`, `info report {"msg":"step done","step":2}`,
		`info report {"msg":"step done","step":3}`, `warning audit "report finished"`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log notifications:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// No progressToken, no progress notifications; at debug, every log
	// message comes; with no level, none.
	callWithToken(t, session, "report", map[string]any{"steps": 2}, nil, "debug")
	h.wait(t, 0, 5)
	if progress, logs := h.take(); len(progress) != 0 || len(logs) != 5 {
		t.Fatalf("without a token, at debug: %d progress, %d logs", len(progress), len(logs))
	}
	callWithToken(t, session, "report", map[string]any{"steps": 1}, "tok-3")

	// Version 1: the module's kiln.log line reaches the client after the
	// call. (The client handles notifications in order: once this one is
	// in, anything the call before sent is too.)
	res = callWithToken(t, session, "echo_v1", map[string]any{"a": 1}, "tok-2", "debug")
	if res.IsError || !strings.Contains(mustJSON(t, res.StructuredContent), `"a":1`) {
		t.Fatalf("echo_v1: %s", mustJSON(t, res))
	}
	h.wait(t, 1, 1)
	progress, logs = h.take()
	if len(progress) != 1 || progress[0].ProgressToken != "tok-3" || len(logs) != 1 || logs[0].Logger != srv.Name {
		t.Fatalf("without a level, then version 1: progress %s, logs %s", mustJSON(t, progress), mustJSON(t, logs))
	}

	// The execution log keeps the log messages, with their loggers (the
	// first call's row is the oldest, last in the list).
	execs := e.executions(srv)
	var entries []sandbox.LogEntry
	if x := execs[len(execs)-1]; x.ToolName != "report" || json.Unmarshal(x.Logs, &entries) != nil {
		t.Fatalf("execution %+v", x)
	}
	if len(entries) != 7 || entries[6].Logger != "audit" || entries[1].Level != "debug" {
		t.Fatalf("execution log entries %s", mustJSON(t, entries))
	}
}

// TestNotificationFloodIsBounded: a tool that sends 1,000 notifications
// at once reaches its client with no more than the burst and the rate per
// second allow (sandbox.DefaultNotify*), still answers, and the execution
// log says how many were not sent.
func TestNotificationFloodIsBounded(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := e.addServer(bigPlan.Name, toolSpec{"flood", "flood", toolsModule(t)})
	session, h := listen(t, e.url(srv.ID), srv.key)
	start := time.Now()
	res := callWithToken(t, session, "flood", map[string]any{}, 7, "info")
	elapsed := time.Since(start)
	if res.IsError || text(res) != "flooded" {
		t.Fatalf("flood: %s", text(res))
	}
	h.wait(t, 1, 1)
	progress, logs := h.take()
	allowed := sandbox.DefaultNotifyBurst + int(elapsed.Seconds()*sandbox.DefaultNotifyPerSecond) + 1
	if n := len(progress) + len(logs); n == 0 || n > allowed {
		t.Fatalf("the client got %d notifications in %v; at most %d are allowed", n, elapsed, allowed)
	}
	x := e.executions(srv)[0]
	t.Logf("the client got %d progress and %d log notifications of 500 each in %v; the call took %v and %d fuel",
		len(progress), len(logs), elapsed, x.Duration, x.FuelUsed)
	if !strings.Contains(string(x.Logs), "of the tool's 1000 progress reports and log messages were not sent") {
		t.Fatalf("execution log: %.500s", x.Logs)
	}
}

// TestCancelledNotificationStopsTheCall: in stateless mode a client's
// notifications/cancelled arrives in a request of its own; it still
// reaches the call it names (same server, same key, same request id),
// which stops at its next fuel check while its own request is still open,
// and the execution log says "canceled".
func TestCancelledNotificationStopsTheCall(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := e.addServer(bigPlan.Name, toolSpec{"count", "count", toolsModule(t)})
	call := `{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"count","arguments":{},"_meta":{"progressToken":"p"}}}`
	resp := rawPost(t, e.url(srv.ID), srv.key, call, "Mcp-Protocol-Version", "2025-06-18")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := bufio.NewScanner(resp.Body)
	next := func() string {
		for events.Scan() {
			if data, ok := strings.CutPrefix(events.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("the stream ended: %v", events.Err())
		return ""
	}
	if ev := next(); !strings.Contains(ev, `"notifications/progress"`) {
		t.Fatalf("first event %s", ev)
	}
	cancel := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"call-1","reason":"test"}}`
	r := rawPost(t, e.url(srv.ID), srv.key, cancel, "Mcp-Protocol-Version", "2025-06-18")
	r.Body.Close()
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("cancel: status %d", r.StatusCode)
	}
	for {
		ev := next()
		if !strings.Contains(ev, `"id":"call-1"`) {
			continue // progress sent before the cancellation
		}
		if !strings.Contains(ev, `"isError":true`) || !strings.Contains(ev, "canceled") {
			t.Fatalf("the call's answer: %s", ev)
		}
		break
	}
	x := e.executions(srv)
	if len(x) != 1 || x[0].Outcome != "canceled" {
		t.Fatalf("executions %+v", x)
	}
}

// TestTypeScriptClientNotifications: the official TypeScript SDK client
// (testdata/js/client.mjs, protocol 2025-11-25) sees an ABI v2 tool's
// title and annotations in tools/list, receives its progress and log
// notifications during the call (at info and above: a stateless server's
// level on that revision), cancels a call at its first progress report,
// which stops the module (the execution log says "canceled"), and calls a
// version 1 module as before.
func TestTypeScriptClientNotifications(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	mod := toolsModule(t)
	srv := e.addServer(bigPlan.Name, toolSpec{"report", "report", mod}, toolSpec{"count", "count", mod},
		toolSpec{"echo_v1", "echo", echoWATModule(t)})
	out, err := testmodules.NodeScript(t, "client.mjs", e.url(srv.ID), srv.key,
		"report", `{"steps":3}`, "cancel:count", `{}`, "echo_v1", `{"a":1}`)
	if err != nil {
		t.Fatalf("the TypeScript client failed: %v", err)
	}
	var list struct {
		Tools []struct {
			Name        string          `json:"name"`
			Title       string          `json:"title"`
			Annotations *map[string]any `json:"annotations"`
		} `json:"tools"`
	}
	var report struct {
		IsError  bool             `json:"isError"`
		Progress []map[string]any `json:"progress"`
		Logs     []map[string]any `json:"logs"`
	}
	var canceled struct {
		Canceled bool             `json:"canceled"`
		Progress []map[string]any `json:"progress"`
	}
	var echo struct {
		IsError           bool           `json:"isError"`
		StructuredContent map[string]any `json:"structuredContent"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines of output, got %d", len(lines))
	}
	for i, v := range []any{&list, &report, &canceled, &echo} {
		if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	annotations := map[string]string{}
	for _, tool := range list.Tools {
		annotations[tool.Name] = tool.Title + " " + mustJSON(t, tool.Annotations)
	}
	if annotations["report"] != `Report progress {"idempotentHint":true,"openWorldHint":false,"readOnlyHint":true}` ||
		annotations["echo_v1"] != " null" {
		t.Fatalf("listed %v", annotations)
	}
	if report.IsError || len(report.Progress) != 3 || report.Progress[2]["progress"] != 3.0 || report.Progress[2]["total"] != 3.0 ||
		report.Progress[0]["message"] != "step 1 of 3" {
		t.Fatalf("report progress %s", mustJSON(t, report.Progress))
	}
	if got := mustJSON(t, report.Logs); len(report.Logs) != 4 || report.Logs[0]["level"] != "info" || report.Logs[0]["logger"] != "report" ||
		report.Logs[3]["level"] != "warning" || report.Logs[3]["logger"] != "audit" || !strings.Contains(got, `"step":2`) {
		t.Fatalf("report logs %s", got)
	}
	if !canceled.Canceled || len(canceled.Progress) == 0 {
		t.Fatalf("cancel: %+v", canceled)
	}
	if echo.IsError || mustJSON(t, echo.StructuredContent["args"]) != `{"a":1}` {
		t.Fatalf("echo_v1: %+v", echo)
	}
	waitFor(t, 10*time.Second, "the canceled call in the execution log", func() bool {
		for _, x := range e.executions(srv) {
			if x.ToolName == "count" {
				return x.Outcome == "canceled"
			}
		}
		return false
	})
}
