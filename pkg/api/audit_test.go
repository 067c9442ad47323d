package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// breakableStore is a migrated store with a second, plain connection to
// its database, through which a test can take the audit log away.
type breakableStore struct {
	store *store.Store
	raw   *sql.DB
}

// breakableStores opens one per configured database, like storetest.Each.
func breakableStores(t *testing.T, fn func(t *testing.T, b breakableStore)) {
	t.Helper()
	open := func(t *testing.T, databaseURL, dataDir, driver, dsn string) {
		ctx := context.Background()
		s, err := store.Open(ctx, databaseURL, dataDir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeOrFail(t, s) })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		raw, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeOrFail(t, raw) })
		fn(t, breakableStore{store: s, raw: raw})
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		open(t, "", dir, "sqlite", "file:"+(&url.URL{Path: filepath.Join(dir, store.SQLiteFile)}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	})
	if u, ok := storetest.PostgresURL(t); ok {
		t.Run("postgres", func(t *testing.T) { open(t, u, "", "postgres", u) })
	}
}

func closeOrFail(t *testing.T, c interface{ Close() error }) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

func (b breakableStore) exec(t *testing.T, query string) {
	t.Helper()
	if _, err := b.raw.ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// A change and its audit record are stored together or not at all: when
// the record cannot be written, the change is not made either, and the
// answer says so.
func TestChangeIsNotMadeWithoutItsAuditRecord(t *testing.T) {
	breakableStores(t, func(t *testing.T, b breakableStore) {
		h := newHarness(t, b.store)
		ctx := t.Context()
		custID, key := h.customer("free")
		kept := h.server(key, "kept")

		b.exec(t, `ALTER TABLE audit_log RENAME TO audit_log_away`)
		wantNotMade := func(r resp) {
			t.Helper()
			msg := r.want(t, 500).errorMessage(t)
			if strings.Contains(msg, "change was made") || !strings.Contains(msg, "change was not made") {
				t.Fatalf("answer %q", msg)
			}
		}
		// User API: a creation, an update and a deletion.
		wantNotMade(h.do("POST", "/api/v1/servers", key, map[string]any{"name": "lost"}))
		wantNotMade(h.do("PATCH", "/api/v1/servers/"+kept.ID, key, map[string]any{"description": "lost", "version": kept.Version}))
		wantNotMade(h.do("DELETE", "/api/v1/servers/"+kept.ID, key, nil))
		wantNotMade(h.do("PUT", "/api/v1/servers/"+kept.ID+"/env/TOKEN", key, map[string]any{"secret": true}))
		// Operator API: a change in pkg/tier, and a creation.
		wantNotMade(h.admin("PUT", "/customers/"+custID+"/tier", map[string]any{"tier": "pro"}))
		wantNotMade(h.admin("POST", "/customers/"+custID+"/keys", map[string]any{"name": "lost"}))
		if !strings.Contains(h.logs.String(), "was not made") {
			t.Errorf("the failure was not logged:\n%s", h.logs)
		}
		b.exec(t, `ALTER TABLE audit_log_away RENAME TO audit_log`)

		servers, err := b.store.ListServers(ctx, custID)
		if err != nil {
			t.Fatal(err)
		}
		if len(servers) != 1 || servers[0].ID != kept.ID || servers[0].Version != kept.Version || servers[0].Description != "" {
			t.Fatalf("servers after the failed changes: %+v", servers)
		}
		if vars, err := b.store.ListEnvVars(ctx, kept.ID); err != nil || len(vars) != 0 {
			t.Fatalf("env vars after the failed declaration: %+v, %v", vars, err)
		}
		if tier, err := b.store.CustomerTier(ctx, custID); err != nil || tier != "free" {
			t.Fatalf("tier after the failed change: %q, %v", tier, err)
		}
		if keys, err := b.store.ListAPIKeys(ctx, custID); err != nil || len(keys) != 1 {
			t.Fatalf("API keys after the failed creation: %d, %v", len(keys), err)
		}
		entries, err := b.store.ListAudit(ctx, store.AuditFilter{CustomerID: custID})
		if err != nil {
			t.Fatal(err)
		}
		// customer.create, apikey.create, server.create: those of the setup.
		if len(entries) != 3 {
			t.Fatalf("audit entries %+v", entries)
		}

		// Nothing was left locked or half done: the same changes now work.
		h.do("POST", "/api/v1/servers", key, map[string]any{"name": "lost"}).want(t, 201)
		h.do("DELETE", "/api/v1/servers/"+kept.ID, key, nil).want(t, 204)
		h.admin("PUT", "/customers/"+custID+"/tier", map[string]any{"tier": "pro"}).want(t, 200)
	})
}

// auditDetails is the newest audit entry of an action for a customer, with
// its details decoded.
func (h *harness) auditDetails(custID, action string) (store.AuditEntry, map[string]any) {
	h.t.Helper()
	entries, err := h.store.ListAudit(h.t.Context(), store.AuditFilter{CustomerID: custID, Action: action, Limit: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(entries) == 0 {
		h.t.Fatalf("no %s entry in the audit log", action)
	}
	var details map[string]any
	if err := json.Unmarshal(entries[0].Details, &details); err != nil {
		h.t.Fatal(err)
	}
	return entries[0], details
}

// TestAuditRecordsWhoChangedWhat: each security-relevant change through the
// user API is audited with its actor and, for updates, the fields changed
// before and after; refused builds are audited with why.
func TestAuditRecordsWhoChangedWhat(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, key := h.customer("free")
		h.publish("echo", "1.0.0", "free", echoWasm(t))
		principals := h.principals(custID, key, h.server(key, "first").ID)
		owner, member := principals[2], principals[3]
		as := func(p testPrincipal, method, path string, body any) resp {
			t.Helper()
			return h.do(method, path, p.token, body, p.header...)
		}

		var srv serverJSON
		as(member, "POST", "/api/v1/servers", map[string]any{"name": "weather"}).want(t, 201).decode(t, &srv)
		if e, d := h.auditDetails(custID, "server.create"); e.Actor != member.actor || e.Target != srv.ID ||
			fmt.Sprint(d["changes"].(map[string]any)["name"]) != "map[after:weather before:<nil>]" {
			t.Fatalf("server.create: %+v %v", e, d)
		}
		as(owner, "PATCH", "/api/v1/servers/"+srv.ID, map[string]any{
			"name": "storms", "allowed_hosts": []string{"api.example.com"}, "record_payloads": true, "description": "", "version": 1,
		}).want(t, 200)
		e, d := h.auditDetails(custID, "server.update")
		want := `{"allowed_hosts":{"after":["api.example.com"],"before":[]},"name":{"after":"storms","before":"weather"},"record_payloads":{"after":true,"before":false}}`
		if got, _ := json.Marshal(d["changes"]); e.Actor != owner.actor || string(got) != want || d["version"] != 2.0 {
			t.Fatalf("server.update: %+v\n%s\nwant %s", e, got, want)
		}

		var tool struct{ ID string }
		as(member, "POST", "/api/v1/servers/"+srv.ID+"/tools", map[string]any{"library": map[string]any{"name": "echo"}}).want(t, 201).decode(t, &tool)
		if e, d := h.auditDetails(custID, "tool.create"); e.Actor != member.actor || e.Target != tool.ID || d["library"] != "echo@1.0.0" {
			t.Fatalf("tool.create: %+v %v", e, d)
		}
		as(member, "DELETE", "/api/v1/servers/"+srv.ID+"/tools/"+tool.ID, nil).want(t, 204)
		if e, d := h.auditDetails(custID, "tool.delete"); e.Actor != member.actor || e.Target != tool.ID || d["name"] != "echo" {
			t.Fatalf("tool.delete: %+v %v", e, d)
		}

		as(member, "POST", "/api/v1/servers/"+srv.ID+"/tools", map[string]any{
			"files": map[string]string{"main.go": "package main\n\nimport \"os/exec\"\n\nfunc main() { _ = exec.Command }\n"},
		}).want(t, 422)
		if e, d := h.auditDetails(custID, "module.build_failed"); e.Actor != member.actor || e.Target != srv.ID ||
			d["status"] != 422.0 || !strings.Contains(d["error"].(string), "the source was refused") {
			t.Fatalf("module.build_failed: %+v %v", e, d)
		}

		as(member, "PATCH", "/api/v1/servers/"+srv.ID, map[string]any{"record_payloads": false, "version": 2}).want(t, 403)
		if e, d := h.auditDetails(custID, "access.refuse"); e.Actor != member.actor || d["reason"] != "role" || d["required_role"] != "owner" {
			t.Fatalf("access.refuse: %+v %v", e, d)
		}

		var k struct{ ID string }
		h.admin("POST", "/customers/"+custID+"/keys", map[string]any{"name": "mcp", "server_id": srv.ID}).want(t, 201).decode(t, &k)
		if e, d := h.auditDetails(custID, "apikey.create"); e.Actor != "operator" || e.Target != k.ID || d["server_id"] != srv.ID || d["name"] != "mcp" {
			t.Fatalf("apikey.create: %+v %v", e, d)
		}
		h.admin("DELETE", "/customers/"+custID+"/keys/"+k.ID, nil).want(t, 204)
		if e, _ := h.auditDetails(custID, "apikey.revoke"); e.Actor != "operator" || e.Target != k.ID {
			t.Fatalf("apikey.revoke: %+v", e)
		}
	})
}
