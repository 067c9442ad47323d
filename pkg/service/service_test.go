package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
)

// TestNode: the wiring `kiln serve` uses, on both databases: the operator
// API with the generated token, a customer's key on the user API and the
// wizard, a server
// whose MCP endpoint is private and names its protected resource metadata,
// and the authorization server's metadata on the same origin.
func TestNode(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			node := servicetest.Start(t, servicetest.Options{Postgres: pg})
			resp, body := node.Do(t, "POST", "/api/v1/admin/customers", node.OperatorToken, map[string]string{"name": "n", "tier": "free"})
			var cust struct{ ID string }
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &cust) != nil {
				t.Fatalf("create customer: %s %s", resp.Status, body)
			}
			resp, body = node.Do(t, "POST", "/api/v1/admin/customers/"+cust.ID+"/keys", node.OperatorToken, map[string]string{"name": "k"})
			var key struct{ Key string }
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &key) != nil || key.Key == "" {
				t.Fatalf("create key: %s %s", resp.Status, body)
			}
			// The wizard runs on every node; with no LLM configured it says
			// how to configure one.
			resp, body = node.Do(t, "POST", "/api/v1/wizard/sessions", key.Key, map[string]string{"description": "count the words of a text"})
			if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), "KILN_LLM_PROVIDERS") {
				t.Fatalf("wizard session without an LLM: %s %s", resp.Status, body)
			}
			resp, body = node.Do(t, "POST", "/api/v1/servers", key.Key, map[string]string{"name": "s"})
			var srv struct{ ID string }
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &srv) != nil {
				t.Fatalf("create server: %s %s", resp.Status, body)
			}
			resp, _ = node.Do(t, "POST", "/mcp/"+srv.ID, "", map[string]any{"jsonrpc": "2.0", "id": 1, "method": "ping"})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "/.well-known/oauth-protected-resource/mcp/"+srv.ID) {
				t.Fatalf("MCP without a key: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
			}
			resp, body = node.Do(t, "GET", "/.well-known/oauth-authorization-server", "", nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"issuer":"`+node.URL+`"`) {
				t.Fatalf("authorization server metadata: %s %s", resp.Status, body)
			}
		})
	}
}
