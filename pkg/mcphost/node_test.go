package mcphost_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// The Node side of the tests (testdata/js): the official MCP conformance
// suite and a TypeScript SDK client, pinned in package-lock.json with
// Node 22 from npm's node package (the suite needs Node >= 22; the machine
// may have an older one). They need npm; without it these tests skip, and
// in CI (CI set) they fail, so a machine without npm cannot pass as green.

const jsDir = "pkg/mcphost/testdata/js"

// nodeModules installs testdata/js (testmodules.NodeModules, shared with
// the CLI's wizard test) and returns the directory holding node_modules.
func nodeModules(t *testing.T) string { return testmodules.NodeModules(t, jsDir) }

// nodeCommand runs a program from node_modules/.bin with Node 22 first on
// PATH (their #!/usr/bin/env node then finds it).
func nodeCommand(ctx context.Context, modules string, name string, args ...string) *exec.Cmd {
	return testmodules.NodeCommand(ctx, modules, name, args...)
}

// withKey adds a server's key to every request: the conformance suite
// sends no credentials, and Kiln servers are private.
func withKey(next http.Handler, key string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+key)
		next.ServeHTTP(w, r)
	})
}

// conformanceServer deploys every fixture tool the suite calls on one
// server and serves it, key added, on a loopback httptest server.
func conformanceServer(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t, storetest.SQLite(t), envOptions{ipLimit: 100_000})
	goMod, watMod := conformanceModule(t), conformanceWATModule(t)
	var tools []toolSpec
	for _, name := range []string{"test_simple_text", "test_image_content", "test_audio_content",
		"test_error_handling", "test_tool_with_logging", "test_tool_with_progress",
		"test_logging_tool", "test_streaming_elicitation"} {
		tools = append(tools, toolSpec{name, name, goMod})
	}
	for _, name := range inputToolNames {
		tools = append(tools, toolSpec{name, name, goMod})
	}
	for _, name := range []string{"test_embedded_resource", "test_multiple_content_types", "json_schema_2020_12_tool", "test_x_mcp_header"} {
		tools = append(tools, toolSpec{name, name, watMod})
	}
	srv := e.addServer(bigPlan.Name, tools...)
	mux := http.NewServeMux()
	mux.Handle("/mcp/", withKey(e.host.Handler(), srv.key))
	front := httptest.NewServer(mux)
	t.Cleanup(front.Close)
	return e, front.URL + "/mcp/" + srv.ID
}

// inputToolNames are the fixture tools that ask their caller for input
// (testdata/conformance/input.go): SEP-2322's multi-round scenarios and
// SEP-2575's capability check.
var inputToolNames = []string{
	"test_input_required_result_elicitation", "test_input_required_result_sampling",
	"test_input_required_result_list_roots", "test_input_required_result_request_state",
	"test_input_required_result_tampered_state", "test_input_required_result_multi_round",
	"test_input_required_result_multiple_inputs", "test_input_required_result_capabilities",
	"test_missing_capability",
}

// TestConformance runs the official MCP conformance suite's server
// scenarios against Kiln serving the fixture tools as Wasm modules, for
// each protocol revision Kiln serves. The scenarios and checks Kiln cannot
// pass are listed, each with its reason, in testdata/conformance-baseline.yml;
// the suite fails on any other failure, and on a listed one that starts
// passing (so the list stays true).
func TestConformance(t *testing.T) {
	modules := nodeModules(t)
	_, url := conformanceServer(t)
	baseline := filepath.Join(testmodules.Root(), "pkg/mcphost/testdata/conformance-baseline.yml")
	for _, run := range []struct{ name, flag, revision string }{
		{"2025-06-18", "--spec-version", "2025-06-18"},
		{"2025-11-25", "--requirements", "2025-11-25"},
		{"2026-07-28", "--requirements", "2026-07-28"},
	} {
		t.Run(run.name, func(t *testing.T) {
			// KILN_CONFORMANCE_OUT keeps the per-check results (CI artifacts).
			outDir := t.TempDir()
			if dir := os.Getenv("KILN_CONFORMANCE_OUT"); dir != "" {
				outDir = filepath.Join(dir, run.name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := nodeCommand(ctx, modules, "conformance", "server", "--url", url, run.flag, run.revision,
				"--expected-failures", baseline, "-o", outDir)
			out, err := cmd.CombinedOutput()
			t.Logf("conformance server --url %s %s %s\n%s", url, run.flag, run.revision, summarize(string(out)))
			if err != nil {
				t.Fatalf("the conformance suite found failures not in the baseline, or baseline entries that now pass: %v", err)
			}
		})
	}
}

// summarize keeps the suite's verdict lines, which are what a reader of
// the test log needs; the full per-check output is long.
func summarize(out string) string {
	if i := strings.Index(out, "=== SUMMARY ==="); i >= 0 {
		out = out[i:]
	}
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		l := strings.TrimSpace(line)
		if l == "" || strings.Contains(l, "EBADENGINE") || strings.HasPrefix(l, "npm warn") {
			continue
		}
		keep = append(keep, line)
	}
	if len(keep) > 400 {
		keep = append(keep[:200], append([]string{"..."}, keep[len(keep)-200:]...)...)
	}
	return strings.Join(keep, "\n")
}

// TestTypeScriptClient: the official TypeScript SDK client (testdata/js/
// client.mjs) lists and calls tools over Streamable HTTP, including one the
// plan's fuel limit stops, which it must see as a tool error.
func TestTypeScriptClient(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	mod := toolsModule(t)
	srv := e.addServer(fuelPlan.Name, toolSpec{"echo", "echo", mod}, toolSpec{"spin", "spin", mod})
	out := testmodules.MCPClient(t, e.url(srv.ID), srv.key, "echo", `{"text":"from TypeScript"}`, "spin", `{}`)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines of output, got %d", len(lines))
	}
	var list struct {
		Tools []struct {
			Name            string `json:"name"`
			HasOutputSchema bool   `json:"hasOutputSchema"`
		} `json:"tools"`
	}
	type callOut struct {
		Tool              string         `json:"tool"`
		IsError           bool           `json:"isError"`
		Text              string         `json:"text"`
		StructuredContent map[string]any `json:"structuredContent"`
	}
	var echo, spin callOut
	for i, v := range []any{&list, &echo, &spin} {
		if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	if len(list.Tools) != 2 || list.Tools[0].Name != "echo" || !list.Tools[0].HasOutputSchema {
		t.Fatalf("tools %+v", list.Tools)
	}
	if echo.IsError || echo.StructuredContent["text"] != "from TypeScript" || echo.StructuredContent["length"] != float64(15) {
		t.Fatalf("echo %+v", echo)
	}
	if !spin.IsError || !strings.Contains(spin.Text, "compute budget") {
		t.Fatalf("spin %+v", spin)
	}
}
