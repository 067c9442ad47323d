package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// testPrincipal is one kind of caller the policy judges, with what its
// requests carry.
type testPrincipal struct {
	name string
	// role is "owner", "member" or "scoped" (a server-scoped key).
	role   string
	actor  string
	token  string
	header []string
}

// principals are an account key, a key scoped to serverID, and an owner's
// and a member's browser sessions (with their CSRF tokens), all of custID.
func (h *harness) principals(custID, accountKey, serverID string) []testPrincipal {
	h.t.Helper()
	var scoped struct{ ID, Key string }
	h.admin("POST", "/customers/"+custID+"/keys", map[string]any{"server_id": serverID}).want(h.t, 201).decode(h.t, &scoped)
	var account struct{ Items []struct{ ID string } }
	h.admin("GET", "/customers/"+custID+"/keys", nil).want(h.t, 200).decode(h.t, &account)
	out := []testPrincipal{
		{name: "account key", role: "owner", actor: "key:" + account.Items[0].ID, token: accountKey},
		{name: "server-scoped key", role: "scoped", actor: "key:" + scoped.ID, token: scoped.Key},
	}
	for _, role := range []string{store.RoleOwner, store.RoleMember} {
		userID, cookie := h.signedInAs(custID, role, time.Now().Add(time.Hour))
		withCookie := []string{"Cookie", websession.CookieName + "=" + cookie}
		var sess struct {
			CSRFToken string `json:"csrf_token"`
		}
		h.do("GET", "/api/v1/session", "", nil, withCookie...).want(h.t, 200).decode(h.t, &sess)
		out = append(out, testPrincipal{name: role + " session", role: role, actor: "user:" + userID,
			header: append(withCookie, websession.CSRFHeader, sess.CSRFToken)})
	}
	return out
}

// refusedBy says whether the policy refuses p an operation needing need,
// and the words its refusal must say.
func (p testPrincipal) refusedBy(need string) (bool, string) {
	switch {
	case p.role == "scoped":
		return true, "scoped to MCP use"
	case p.role == "member" && need == "owner":
		return true, "needs the owner role"
	}
	return false, ""
}

// TestRoutePolicy walks every user API route and sends it a request as each
// principal: the route's role in openapi.json (x-kiln-role) must be the one
// enforced, a scoped key is refused everywhere, and every refusal is
// audited. A route without a documented role fails here.
func TestRoutePolicy(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	custID, key := h.customer("free")
	srv := h.server(key, "s")
	principals := h.principals(custID, key, srv.ID)
	// Ids that do not exist: the policy decides before any lookup, and an
	// admitted request changes nothing.
	values := map[string]string{"server": "srv_nope", "tool": "tool_nope", "name": "NOPE", "session": "wiz_nope", "key": "key_nope"}
	param := regexp.MustCompile(`:([a-z_]+)`)
	routes, refusals := 0, map[string]int{}
	for _, route := range h.routes.Routes() {
		if !strings.HasPrefix(route.Path, "/api/v1/") || strings.HasPrefix(route.Path, "/api/v1/admin/") || route.Path == "/api/v1/openapi.json" {
			continue
		}
		routes++
		path := param.ReplaceAllStringFunc(route.Path, func(m string) string {
			v, ok := values[m[1:]]
			if !ok {
				t.Fatalf("route %s has a parameter %s the test has no value for", route.Path, m)
			}
			return v
		})
		op, ok := h.checker.find(route.Method, path)
		if !ok || op.op.Role == "" {
			t.Errorf("route %s %s has no x-kiln-role in openapi.json: every user route needs a policy", route.Method, route.Path)
			continue
		}
		var body any
		if route.Method != http.MethodGet {
			body = map[string]any{}
		}
		for _, p := range principals {
			r := h.do(route.Method, path, p.token, body, p.header...)
			refused, words := p.refusedBy(op.op.Role)
			switch {
			case refused && (r.status != 403 || !strings.Contains(r.errorMessage(t), words)):
				t.Errorf("%s %s as %s (needs %s): got %s, want 403 saying %q", route.Method, route.Path, p.name, op.op.Role, r, words)
			case refused:
				refusals[p.actor]++
			case r.status == 401 || r.status == 403:
				t.Errorf("%s %s as %s (needs %s): refused: %s", route.Method, route.Path, p.name, op.op.Role, r)
			}
		}
	}
	if routes < 18 {
		t.Fatalf("only %d user routes: did registration change?", routes)
	}
	for _, p := range principals {
		entries, err := h.store.ListAudit(t.Context(), store.AuditFilter{CustomerID: custID, Actor: p.actor, Action: "access.refuse"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != refusals[p.actor] {
			t.Errorf("%s: %d refusals audited, %d made", p.name, len(entries), refusals[p.actor])
		}
	}
	if refusals[principals[1].actor] != routes {
		t.Errorf("the scoped key was refused %d of %d routes", refusals[principals[1].actor], routes)
	}
}

// TestScopedKeyIsForMCPOnly: a key made for one server's MCP endpoint can
// neither change that server (tool code, egress hosts, payload recording)
// nor read its execution log through the user API; the refusal is audited
// with the route and the key's server.
func TestScopedKeyIsForMCPOnly(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, key := h.customer("free")
		h.publish("echo", "1.0.0", "free", echoWasm(t))
		mine := h.server(key, "mine")
		var scoped struct{ ID, Key string }
		h.admin("POST", "/customers/"+custID+"/keys", map[string]any{"server_id": mine.ID}).want(t, 201).decode(t, &scoped)
		base := "/api/v1/servers/" + mine.ID
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"POST", base + "/tools", map[string]any{"library": map[string]any{"name": "echo"}}},
			{"PATCH", base, map[string]any{"allowed_hosts": []string{"evil.example"}, "version": mine.Version}},
			{"PATCH", base, map[string]any{"record_payloads": true, "version": mine.Version}},
			{"PUT", base + "/env/TOKEN", map[string]any{"secret": false}},
			{"GET", "/api/v1/executions", nil},
			{"GET", "/api/v1/executions?server=" + mine.ID, nil},
			{"GET", base, nil},
			{"GET", "/api/v1/account", nil},
		} {
			msg := h.do(tc.method, tc.path, scoped.Key, tc.body).want(t, 403).errorMessage(t)
			if !strings.Contains(msg, "scoped to MCP use") || !strings.Contains(msg, "/mcp/"+mine.ID) {
				t.Fatalf("%s %s: %q", tc.method, tc.path, msg)
			}
		}
		var now struct {
			serverJSON
			RecordPayloads bool `json:"record_payloads"`
		}
		h.do("GET", base, key, nil).want(t, 200).decode(t, &now)
		if now.Version != mine.Version || len(now.AllowedHosts) != 0 || now.RecordPayloads {
			t.Fatalf("the server changed: %+v", now)
		}
		var tools struct{ Items []any }
		h.do("GET", base+"/tools", key, nil).want(t, 200).decode(t, &tools)
		if len(tools.Items) != 0 {
			t.Fatalf("tools %+v", tools)
		}
		entries, err := h.store.ListAudit(t.Context(), store.AuditFilter{CustomerID: custID, Action: "access.refuse"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 8 {
			t.Fatalf("%d refusals audited, want 8", len(entries))
		}
		first := entries[len(entries)-1] // newest first
		var d struct {
			Reason      string
			Route       string
			KeyServerID string `json:"key_server_id"`
			Params      map[string]string
		}
		if err := json.Unmarshal(first.Details, &d); err != nil {
			t.Fatal(err)
		}
		if first.Actor != "key:"+scoped.ID || first.Target != "POST "+base+"/tools" || d.Reason != "scoped_key" ||
			d.Route != "POST /api/v1/servers/:server/tools" || d.KeyServerID != mine.ID || d.Params["server"] != mine.ID {
			t.Fatalf("refusal audited as %+v %+v", first, d)
		}

		// Deleting the server deletes its keys.
		h.do("DELETE", base, key, nil).want(t, 204)
		h.do("GET", "/api/v1/account", scoped.Key, nil).want(t, 401)
	})
}
