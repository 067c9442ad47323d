package mcphost_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestCrossTenant: a key for server A never opens server B, a session id
// or env header from A gives nothing on B, and every refusal is a 401
// pointing at the server's protected resource metadata.
func TestCrossTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, envOptions{})
		ctx := context.Background()
		a := e.addServer(bigPlan.Name, toolSpec{"env", "env", toolsModule(t)})
		b := e.addServer(bigPlan.Name, toolSpec{"echo", "test_simple_text", conformanceModule(t)})
		// A second server of A's own customer: same customer, other server.
		a2 := e.addServerFor(a.CustomerID, toolSpec{"echo", "echo", toolsModule(t)})
		metadata := func(id string) string {
			return `resource_metadata="` + e.srv.URL + `/.well-known/oauth-protected-resource/mcp/` + id + `"`
		}
		expectUnauthorized := func(name, serverID, key, says string) {
			t.Helper()
			resp := rawPost(t, e.url(serverID), key, initializeBody)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			challenge := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") ||
				!strings.Contains(challenge, metadata(serverID)) || !strings.Contains(string(body), says) {
				t.Errorf("%s: %d %q %s", name, resp.StatusCode, challenge, body)
			}
		}
		expectUnauthorized("no key", b.ID, "", "This MCP server is private")
		expectUnauthorized("A's key on B", b.ID, a.key, "not valid for this server")
		expectUnauthorized("A's key on A's other server", a2.ID, a.key, "not valid for this server")
		expectUnauthorized("not a Kiln key", b.ID, "sk-123", "not a Kiln API key")
		expectUnauthorized("unknown key", b.ID, "kiln_aaaaaaaaaaaaaaaaaaaaaaaaaa", "not valid")
		expectUnauthorized("account-wide key", b.ID, e.addKey(b.CustomerID, nil), "for the account API")
		if got := rawPost(t, e.url(b.ID), a.key, initializeBody).Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("invalid key challenge %q", got)
		}

		// Revoked and expired keys stop working at once.
		revoked := e.addKey(b.CustomerID, &b.ID)
		keys, err := s.ListAPIKeys(ctx, b.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(ctx, b.CustomerID, keys[len(keys)-1].ID); err != nil {
			t.Fatal(err)
		}
		expectUnauthorized("revoked key", b.ID, revoked, "revoked or expired")
		past := time.Now().Add(-time.Minute)
		expired := mcpKey(t, s, b.CustomerID, b.ID, &past)
		expectUnauthorized("expired key", b.ID, expired, "revoked or expired")

		// Stateless: no session id is handed out, and one sent along is
		// ignored: B's key sees B's tools, A's key sees nothing of B.
		resp := rawPost(t, e.url(a.ID), a.key, initializeBody)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") != "" {
			t.Fatalf("initialize on A: %d, session %q", resp.StatusCode, resp.Header.Get("Mcp-Session-Id"))
		}
		forged := "session-from-a"
		resp = rawPost(t, e.url(b.ID), a.key, listBody(2), "Mcp-Session-Id", forged)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("A's key and a session id on B: %d", resp.StatusCode)
		}
		onB := connect(t, e.url(b.ID), b.key, "Mcp-Session-Id", forged)
		list, err := onB.ListTools(ctx, nil)
		if err != nil || len(list.Tools) != 1 || list.Tools[0].Name != "echo" {
			t.Fatalf("B's tools with a session id from A: %v %v", list, err)
		}
		if _, err := onB.CallTool(ctx, &mcp.CallToolParams{Name: "env"}); err == nil {
			t.Fatal("A's tool was callable on B")
		}
		// A header A accepts is refused by B, which declares no such var.
		resp = rawPost(t, e.url(b.ID), b.key, initializeBody, "X-Kiln-Env-TOKEN", "x")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "take no env vars per request") {
			t.Fatalf("A's env header on B: %d %s", resp.StatusCode, body)
		}
		// A's executions are A's: B's log has only B's calls.
		call(t, connect(t, e.url(a.ID), a.key), "env", map[string]any{})
		for _, x := range e.executions(b) {
			if x.ToolName != "echo" {
				t.Fatalf("B's log has %+v", x)
			}
		}
	})
}

// mcpKey creates a server key with an expiry.
func mcpKey(t *testing.T, s *store.Store, customerID, serverID string, expires *time.Time) string {
	t.Helper()
	secret := "kiln_" + strings.Repeat("e", 20) + strings.ToLower(serverID[len(serverID)-6:])
	// The store keeps a past expiry as given (the API refuses those).
	k := store.APIKey{CustomerID: customerID, ServerID: &serverID, Name: "expiring", Prefix: secret[:12],
		Hash: store.HashAPIKey(secret), ExpiresAt: expires}
	if err := s.CreateAPIKey(context.Background(), &k); err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestRouting: malformed server ids and unknown servers are 404s before any
// key lookup; methods other than POST are refused by the stateless SDK.
func TestRouting(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	for _, path := range []string{"/mcp/../etc", "/mcp/SRV_X", "/mcp/srv_"} {
		resp, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader(initializeBody))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.url(srv.ID), nil)
	req.Header.Set("Authorization", "Bearer "+srv.key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	// DNS rebinding: a loopback listener reached under a foreign name.
	req, _ = http.NewRequest(http.MethodPost, e.url(srv.ID), strings.NewReader(initializeBody))
	req.Host = "evil.example.com"
	req.Header.Set("Authorization", "Bearer "+srv.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Host: %d", resp.StatusCode)
	}
}
