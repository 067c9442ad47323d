package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// recordedCall runs a node whose server records payloads, makes one tool
// call through MCP and returns the node and the call's execution.
func recordedCall(t *testing.T) (*servicetest.Node, store.Execution) {
	node := servicetest.Start(t, servicetest.Options{})
	post := func(path, token string, body any, out any) {
		t.Helper()
		resp, b := node.Do(t, "POST", path, token, body)
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, out) != nil {
			t.Fatalf("POST %s: %s %s", path, resp.Status, b)
		}
	}
	var cust, srv struct{ ID string }
	var account, mcpKey struct{ Key string }
	post("/api/v1/admin/customers", node.OperatorToken, map[string]string{"name": "r", "tier": "free"}, &cust)
	post("/api/v1/admin/customers/"+cust.ID+"/keys", node.OperatorToken, map[string]string{"name": "k"}, &account)
	node.PublishLibrary(t, "echo", "1.0.0", "free", testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	post("/api/v1/servers", account.Key, map[string]any{"name": "s", "record_payloads": true}, &srv)
	post("/api/v1/servers/"+srv.ID+"/tools", account.Key, map[string]any{"library": map[string]any{"name": "echo"}}, &struct{}{})
	post("/api/v1/servers/"+srv.ID+"/keys", account.Key, map[string]string{"name": "mcp"}, &mcpKey)
	status, out := testmodules.PostMCP(t, node.URL+"/mcp/"+srv.ID, mcpKey.Key,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"replay me"}}}`)
	if status != http.StatusOK || !strings.Contains(string(out), "replay me") {
		t.Fatalf("tools/call: %d %s", status, out)
	}
	xs, err := node.Service.Store.ListExecutions(context.Background(), store.ExecutionFilter{CustomerID: cust.ID})
	if err != nil || len(xs) != 1 {
		t.Fatalf("executions %v, %v", xs, err)
	}
	x, err := node.Service.Store.Execution(context.Background(), xs[0].ID)
	if err != nil || x.Recording == nil {
		t.Fatalf("execution %+v, %v", x, err)
	}
	return node, x
}

// TestReplay: kiln replay re-runs a recorded call from the node's store
// and says it matched; it exits 1 with a sentence for an unknown id, an
// execution without a recording, a module no longer stored and a
// recording the module no longer agrees with, and 2 for a bad id.
func TestReplay(t *testing.T) {
	node, x := recordedCall(t)
	vars := map[string]string{"KILN_DATA_DIR": node.DataDir}
	id := strconv.FormatInt(x.ID, 10)
	status, stdout, stderr := runWithEnv(t, vars, "replay", id)
	fuel := strconv.FormatInt(x.FuelUsed, 10)
	if status != 0 || !strings.Contains(stdout, "result: match (outcome ok)") ||
		!strings.Contains(stdout, "fuel: recorded "+fuel+", replayed "+fuel+" (match)") || !strings.Contains(stdout, "divergences: none") {
		t.Fatalf("replay: %d\n%s\n%s", status, stdout, stderr)
	}
	t.Logf("kiln replay %s:\n%s", id, stdout)

	ctx := context.Background()
	st := node.Service.Store
	copyOf := func(change func(*store.Execution)) string {
		e := x
		e.ID = 0
		change(&e)
		if err := st.RecordExecution(ctx, &e); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(e.ID, 10)
	}
	bare := copyOf(func(e *store.Execution) { e.Recording = nil })
	gone := copyOf(func(e *store.Execution) { e.ModuleHash = store.ModuleHash([]byte("never stored")) })
	longer := copyOf(func(e *store.Execution) { e.Recording = withExtraRead(t, node.DataDir, e.ServerID, e.Recording) })
	for _, tc := range []struct {
		id     string
		status int
		says   string
	}{
		{"999999", 1, "execution 999999 is not in the execution log"},
		{bare, 1, "has no recording; its server"},
		{gone, 1, "is no longer in the store"},
		{longer, 1, "the replay is not exact: the call read from the host differently"},
		{"0", 2, "is not an execution id"},
		{"abc", 2, "is not an execution id"},
	} {
		status, stdout, stderr := runWithEnv(t, vars, "replay", tc.id)
		if status != tc.status || !strings.Contains(stderr, tc.says) {
			t.Errorf("replay %s: %d\n%s\n%s", tc.id, status, stdout, stderr)
		}
		if tc.id == longer {
			t.Logf("kiln replay %s (one read too many recorded):\n%s%s", tc.id, stdout, stderr)
		}
	}
}

// TestReplayVarFile: --var-file gives env values from a file or stdin, off
// the command line (echo declares no env var, so the sandbox naming the
// file's var shows it arrived); --var overrides it; a line that is not NAME=VALUE, a
// missing file or a line past the scanner's 1 MiB are usage errors that
// name the line, never its value.
func TestReplayVarFile(t *testing.T) {
	node, x := recordedCall(t)
	vars := map[string]string{"KILN_DATA_DIR": node.DataDir}
	id := strconv.FormatInt(x.ID, 10)
	path := filepath.Join(t.TempDir(), "vars")
	if err := os.WriteFile(path, []byte("# values for the replay\n\nEXTRA=from the file\r\nOTHER=a=b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	status, stdout, stderr := runWithEnv(t, vars, "replay", id, "--var-file", path)
	if status != 1 || !strings.Contains(stderr, "env var EXTRA is not declared") && !strings.Contains(stderr, "env var OTHER is not declared") {
		t.Fatalf("replay --var-file: %d\n%s\n%s", status, stdout, stderr)
	}
	var out, errOut bytes.Buffer
	env := &environment{stdin: strings.NewReader("STDIN_VAR=x\n"), stdout: &out, stderr: &errOut, getenv: func(n string) string { return vars[n] }}
	if status := dispatch(env, []string{"replay", id, "--var-file", "-"}); status != 1 || !strings.Contains(errOut.String(), "env var STDIN_VAR is not declared") {
		t.Fatalf("replay --var-file -: %d\n%s\n%s", status, out.String(), errOut.String())
	}
	got, err := replayVars(env, path, map[string]string{"EXTRA": "from --var"})
	if err != nil || got["EXTRA"] != "from --var" || got["OTHER"] != "a=b" || len(got) != 2 {
		t.Fatalf("--var over --var-file: %v %v", got, err)
	}
	long := "LONG=" + strings.Repeat("v", 1<<20) + "\n"
	for _, bad := range []struct{ content, says string }{
		{"GOOD=1\nsecret-value-without-a-name\n", "line 2 is not NAME=VALUE"},
		{"=value\n", "line 1 is not NAME=VALUE"},
		{long, "too long"},
	} {
		if err := os.WriteFile(path, []byte(bad.content), 0o600); err != nil {
			t.Fatal(err)
		}
		status, _, stderr := runWithEnv(t, vars, "replay", id, "--var-file", path)
		if status != 2 || !strings.Contains(stderr, bad.says) || strings.Contains(stderr, "secret-value") {
			t.Errorf("--var-file with %.30q: %d %s", bad.content, status, stderr)
		}
	}
	if status, _, stderr := runWithEnv(t, vars, "replay", id, "--var-file", path+".missing"); status != 2 || !strings.Contains(stderr, "--var-file") {
		t.Errorf("missing --var-file: %d %s", status, stderr)
	}
}

// withExtraRead returns a recording with one more clock reading than the
// call made: its sealed tape opened with the node's master key (in
// dataDir), changed and sealed again.
func withExtraRead(t *testing.T, dataDir, serverID string, rec store.JSON) store.JSON {
	var doc map[string]any
	if err := json.Unmarshal(rec, &doc); err != nil {
		t.Fatal(err)
	}
	key, _, err := secrets.LoadMasterKey("", dataDir, secrets.Development)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("kiln recorded tape\x00" + serverID + "\x00" + doc["tool"].(string))
	sealed, _ := base64.StdEncoding.DecodeString(doc["sealed_tape"].(string))
	plain, err := box.Open(sealed, ad)
	if err != nil {
		t.Fatal(err)
	}
	var tape map[string]any
	if err := json.Unmarshal(plain, &tape); err != nil {
		t.Fatal(err)
	}
	reads, _ := tape["reads"].([]any)
	tape["reads"] = append(reads, map[string]any{"kind": "nanotime", "time": 1})
	if plain, err = json.Marshal(tape); err != nil {
		t.Fatal(err)
	}
	if doc["sealed_tape"], err = box.Seal(plain, ad); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return store.JSON(b)
}
