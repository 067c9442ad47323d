package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/testmodules"
)

// connectWithTypeScript copies the Cursor configuration (a JSON client
// configuration: URL and Authorization header) from the server page, as a
// person would, and calls echo with exactly that URL and key through the
// official TypeScript MCP SDK (pkg/mcphost's client.mjs).
func connectWithTypeScript(t *testing.T, b *browser, serverID, key string) {
	t.Helper()
	modules := testmodules.NodeModules(t, testmodules.MCPClientDir)
	b.do("opening the Cursor configuration", chromedp.Click(chromedp.CSS(`#connect-tabs details:nth-of-type(3) summary`)))
	var config struct {
		MCPServers map[string]struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
		} `json:"mcpServers"`
	}
	text := b.text("#connect-2")
	if err := json.Unmarshal([]byte(text), &config); err != nil || len(config.MCPServers) != 1 {
		t.Fatalf("the Cursor configuration %q is not one server's JSON: %v", text, err)
	}
	for _, server := range config.MCPServers {
		copied, ok := strings.CutPrefix(server.Headers["Authorization"], "Bearer ")
		if !ok || copied != key || !strings.HasSuffix(server.URL, "/mcp/"+serverID) {
			t.Fatalf("the Cursor configuration names %q with %q, want the server's MCP URL and the new key", server.URL, server.Headers["Authorization"])
		}
		out := runClient(t, modules, server.URL, copied, "echo", `{"city":"Bergen"}`)
		if !strings.Contains(out, `"tool":"echo","isError":false`) || !strings.Contains(out, "Bergen") {
			t.Errorf("the TypeScript SDK's call with the copied configuration:\n%s", out)
		}
	}
}

// runClient runs client.mjs from the directory holding node_modules.
func runClient(t *testing.T, modules string, args ...string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testmodules.Root(), testmodules.MCPClientDir, "client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(modules, "client.mjs")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A bound on a stuck client, not an assertion about its speed.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := testmodules.NodeCommand(ctx, modules, "node", append([]string{local}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, out)
	}
	return string(out)
}
