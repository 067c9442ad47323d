package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/pkg/wizard/eval"
	"github.com/kilnhq/kiln/pkg/wizard/eval/evalfake"
)

// wizardNode is a whole Kiln node whose LLM is the eval's scripted fake
// (OpenAI wire format) answering the named tasks, and a customer's key.
type wizardNode struct {
	node     *servicetest.Node
	fake     *evalfake.Fake
	customer string
	key      string
	tasks    map[string]eval.Task
}

func startWizardNode(t *testing.T, ids ...string) *wizardNode {
	t.Helper()
	all, err := eval.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	w := &wizardNode{tasks: map[string]eval.Task{}}
	descriptions := map[string]string{}
	for _, task := range all {
		for _, id := range ids {
			if task.ID == id {
				descriptions[task.Description], w.tasks[id] = id, task
			}
		}
	}
	w.fake = evalfake.New(t, descriptions)
	w.node = servicetest.Start(t, servicetest.Options{Env: map[string]string{
		"KILN_LLM_PROVIDERS": "openai:test-model@" + w.fake.LLM.OpenAIURL(),
		// The fake's stand-in APIs listen on loopback.
		"KILN_EGRESS_ALLOW_PRIVATE": "127.0.0.1/32",
	}})
	var cust struct{ ID string }
	w.operator(t, "POST", "/customers", map[string]any{"name": "wizard-cli", "tier": "pro"}, &cust)
	w.customer = cust.ID
	w.key = w.newKey(t, "")
	return w
}

// operator calls the operator API and decodes its 2xx answer into out.
func (w *wizardNode) operator(t *testing.T, method, path string, body, out any) {
	t.Helper()
	res, data := w.node.Do(t, method, "/api/v1/admin"+path, w.node.OperatorToken, body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

// newKey issues a key for the customer, for one server when serverID is set.
func (w *wizardNode) newKey(t *testing.T, serverID string) string {
	t.Helper()
	body := map[string]any{"name": "cli"}
	if serverID != "" {
		body["server_id"] = serverID
	}
	var k struct{ Key string }
	w.operator(t, "POST", "/customers/"+w.customer+"/keys", body, &k)
	return k.Key
}

// run runs kiln wizard against the node with stdin.
func (w *wizardNode) run(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	vars := map[string]string{"KILN_SERVER_URL": w.node.URL, EnvAPIKey: w.key}
	for k, v := range env {
		vars[k] = v
	}
	var out, errOut strings.Builder
	e := &environment{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(n string) string { return vars[n] }}
	status := dispatch(e, append([]string{"wizard"}, args...))
	return status, out.String(), errOut.String()
}

var mcpURL = regexp.MustCompile(`MCP URL: (\S+/mcp/(srv_\S+))`)

// TestWizardCLIDeploysToolTheTypeScriptSDKCalls: `kiln wizard --yes`
// drives a real node from a description to a deployed server (the fake
// proposes a tool whose first source crashes on its sample call: it is
// repaired), prints the MCP URL and a client configuration with a new key
// for that server only (--mcp-key; never the account key), and the
// official TypeScript MCP SDK then calls the deployed tool with it.
func TestWizardCLIDeploysToolTheTypeScriptSDKCalls(t *testing.T) {
	w := startWizardNode(t, "text-tools")
	status, out, errOut := w.run(t, "", nil, "--yes", "--mcp-key", "--server-name", "blog-helpers", w.tasks["text-tools"].Description)
	if status != 0 {
		t.Fatalf("kiln wizard: status %d\n%s\n%s", status, out, errOut)
	}
	for _, want := range []string{"Proposed tools:", "text_stats", "slugify: repairing (round 2)", "slugify: passed after 2 round(s)", `"mcpServers"`, "shown this once"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, w.key) {
		t.Fatal("the API key was printed")
	}
	m := mcpURL.FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(m[1], w.node.URL+"/mcp/") {
		t.Fatalf("no MCP URL of the node in:\n%s", out)
	}
	mcpKey := regexp.MustCompile(`"Authorization": "Bearer (kiln_[A-Za-z0-9_]+)"`).FindStringSubmatch(out)
	if mcpKey == nil || mcpKey[1] == w.key {
		t.Fatalf("no new MCP key in the client configuration:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(testmodules.MCPClient(t, m[1], mcpKey[1],
		"slugify", `{"title":"Hello, Kiln World"}`, "text_stats", `{"text":"One two. Three!"}`))), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"slugify"`) || !strings.Contains(lines[0], `"text_stats"`) {
		t.Fatalf("tools listed: %v", lines)
	}
	var slug, stats struct {
		IsError           bool           `json:"isError"`
		StructuredContent map[string]any `json:"structuredContent"`
	}
	for i, v := range []any{&slug, &stats} {
		if err := json.Unmarshal([]byte(lines[i+1]), v); err != nil {
			t.Fatal(err)
		}
	}
	if slug.IsError || slug.StructuredContent["slug"] != "hello-kiln-world" || stats.StructuredContent["words"] != float64(3) {
		t.Fatalf("calls: %+v %+v", slug, stats)
	}
}

// TestWizardCLISuppliesSecret: the stock-quote task's tool needs an API
// key; the CLI takes it from KILN_SECRET_ALPHAVANTAGE_KEY, the sample call
// (against a stand-in API that refuses any other key) passes, the tool
// deploys, and the value is printed nowhere.
func TestWizardCLISuppliesSecret(t *testing.T) {
	w := startWizardNode(t, "stock-quote")
	status, out, errOut := w.run(t, "", map[string]string{"KILN_SECRET_ALPHAVANTAGE_KEY": evalfake.SecretValue},
		"--yes", w.tasks["stock-quote"].Description)
	if status != 0 || !strings.Contains(out, "needs secret ALPHAVANTAGE_KEY") || !strings.Contains(out, "1 of 1 sample calls passed") {
		t.Fatalf("kiln wizard: status %d\n%s\n%s", status, out, errOut)
	}
	if strings.Contains(out+errOut, evalfake.SecretValue) {
		t.Fatal("the secret was printed")
	}
	// The operator sees the session's two LLM calls (proposal, source).
	status, out, errOut = runWithEnv(t, map[string]string{"KILN_SERVER_URL": w.node.URL, "KILN_OPERATOR_TOKEN": w.node.OperatorToken},
		"admin", "llm-usage", "--customer", w.customer)
	var usage struct {
		Items []struct{ Model string }
		Total struct {
			Calls       int   `json:"calls"`
			InputTokens int64 `json:"input_tokens"`
		}
	}
	if status != 0 || json.Unmarshal([]byte(out), &usage) != nil || usage.Total.Calls != 2 || usage.Total.InputTokens == 0 ||
		len(usage.Items) != 1 || usage.Items[0].Model != "test-model" {
		t.Fatalf("kiln admin llm-usage: status %d, %+v\n%s\n%s", status, usage, out, errOut)
	}
}

// TestWizardCLIRefusesBadInput: every mistake ends non-zero with a
// sentence saying what to do, and a declined proposal builds nothing.
func TestWizardCLIRefusesBadInput(t *testing.T) {
	w := startWizardNode(t, "prime-factors")
	desc := w.tasks["prime-factors"].Description
	for _, tc := range []struct {
		name   string
		stdin  string
		env    map[string]string
		args   []string
		status int
		want   string
	}{
		{"no description", "", nil, nil, exitUsage, "expected 1 argument"},
		{"empty description", "", nil, []string{"  "}, exitUsage, "the description is empty"},
		{"no key", "", map[string]string{EnvAPIKey: ""}, []string{desc}, exitUsage, "set KILN_API_KEY"},
		{"bad server URL", "", map[string]string{"KILN_SERVER_URL": "ftp://x"}, []string{desc}, exitUsage, "not an http(s) URL"},
		{"wrong key", "", map[string]string{EnvAPIKey: "kiln_" + strings.Repeat("x", 40)}, []string{desc}, exitFailed, "401"},
		{"declined", "n\n", nil, []string{desc}, exitFailed, "not accepted; nothing was built"},
		{"no answer", "", nil, []string{desc}, exitFailed, "pass --yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out, errOut := w.run(t, tc.stdin, tc.env, tc.args...)
			if status != tc.status || !strings.Contains(errOut, tc.want) {
				t.Fatalf("status %d, stderr %q (stdout %q); want %d and %q", status, errOut, out, tc.status, tc.want)
			}
		})
	}
	// The two declined sessions asked the LLM for a proposal each, and for nothing else.
	if n := len(w.fake.LLM.Requests()); n != 2 {
		t.Errorf("%d LLM requests; declining must not generate", n)
	}
}

// TestWizardStreamReconnects: a stream that breaks off is reopened with
// Last-Event-ID, so every event arrives once, in order, until "end".
func TestWizardStreamReconnects(t *testing.T) {
	var mu sync.Mutex
	var lastIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		n := len(lastIDs)
		mu.Unlock()
		rw.Header().Set("Content-Type", "text/event-stream")
		event := func(id int) {
			fmt.Fprintf(rw, "id: %d\nevent: tool\ndata: {\"seq\":%d,\"tool\":\"t\",\"data\":{\"status\":\"s%d\"}}\n\n", id, id, id)
		}
		switch n {
		case 1: // two events, then the connection drops without "end"
			event(1)
			event(2)
		case 2:
			event(3)
			fmt.Fprint(rw, "event: end\ndata: {}\n\n")
		default:
			http.Error(rw, "too many connections", http.StatusTeapot)
		}
	}))
	defer srv.Close()
	c := &operatorClient{base: srv.URL, prefix: "/api/v1", token: config.NewToken("kiln_test"), http: srv.Client()}
	var got []int64
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.follow(ctx, "wiz_1", func(e sseEvent) { got = append(got, e.ID) }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2 3]" || fmt.Sprint(lastIDs) != "[ 2]" {
		t.Fatalf("events %v with Last-Event-ID %q per connection", got, lastIDs)
	}
}
