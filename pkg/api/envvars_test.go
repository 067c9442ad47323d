package api_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/secrets"
)

func TestEnvVars(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer("free")
		srv := h.server(key, "s")
		path := "/api/v1/servers/" + srv.ID + "/env"
		var v struct {
			Name     string
			Secret   bool
			Hosts    []string
			HasValue bool `json:"has_value"`
		}
		h.do("PUT", path+"/API_TOKEN", key, map[string]any{"secret": true, "hosts": []string{"API.example.com"}, "description": "token"}).want(t, 200).decode(t, &v)
		if v.Name != "API_TOKEN" || !v.Secret || v.Hosts[0] != "api.example.com" || v.HasValue {
			t.Fatalf("declared %+v", v)
		}
		h.do("PUT", path+"/API_TOKEN/value", key, map[string]any{"value": "first"}).want(t, 204)
		// Changing the description keeps the value.
		h.do("PUT", path+"/API_TOKEN", key, map[string]any{"secret": true, "hosts": []string{"api.example.com"}, "description": "the token"}).want(t, 200).decode(t, &v)
		if !v.HasValue || len(v.Hosts) != 1 {
			t.Fatalf("redeclared %+v", v)
		}
		h.do("DELETE", path+"/API_TOKEN/value", key, nil).want(t, 204)
		h.do("DELETE", path+"/API_TOKEN/value", key, nil).want(t, 404)
		h.do("PUT", path+"/UNDECLARED/value", key, map[string]any{"value": "x"}).want(t, 404)
		h.do("PUT", path+"/API_TOKEN/value", key, map[string]any{}).want(t, 400)
		h.do("DELETE", path+"/API_TOKEN", key, nil).want(t, 204)
		h.do("DELETE", path+"/API_TOKEN", key, nil).want(t, 404)

		for _, bad := range []string{"lower", "KILN_X", "1ABC", strings.Repeat("A", 65)} {
			h.do("PUT", path+"/"+bad, key, map[string]any{}).want(t, 400)
		}
		h.do("PUT", path+"/HOSTS", key, map[string]any{"hosts": []string{"not a host"}}).want(t, 400)
		h.do("PUT", "/api/v1/servers/srv_nope/env/X", key, map[string]any{}).want(t, 404)
		h.do("GET", "/api/v1/servers/srv_nope/env", key, nil).want(t, 404)
	})
}

// TestEnvLimits crosses the per-server declaration limit and the value size
// limit.
func TestEnvLimits(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	_, key := h.customer("free")
	srv := h.server(key, "s")
	path := "/api/v1/servers/" + srv.ID + "/env/"
	for i := range 64 {
		h.do("PUT", path+fmt.Sprintf("VAR_%d", i), key, map[string]any{}).want(t, 200)
	}
	h.do("PUT", path+"VAR_64", key, map[string]any{}).want(t, 409)
	h.do("PUT", path+"VAR_0", key, map[string]any{"description": "redeclaring is not adding"}).want(t, 200)

	h.do("PUT", path+"VAR_0/value", key, map[string]any{"value": strings.Repeat("v", 8192)}).want(t, 204)
	h.do("PUT", path+"VAR_0/value", key, map[string]any{"value": strings.Repeat("v", 8193)}).want(t, 413)
}

// TestSecretValueNeverLeaves: a stored value is not readable through any
// API response, is not in any log line, and is stored encrypted.
func TestSecretValueNeverLeaves(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		const secret = "sk-live-SECRET-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
		custID, key := h.customer("free")
		srv := h.server(key, "s")
		path := "/api/v1/servers/" + srv.ID + "/env/API_TOKEN"
		var seen []resp
		record := func(r resp) resp { seen = append(seen, r); return r }

		record(h.do("PUT", path, key, map[string]any{"secret": true, "hosts": []string{"api.example.com"}})).want(t, 200)
		record(h.do("PUT", path+"/value", key, map[string]any{"value": secret})).want(t, 204)
		// Failed writes carrying the value must not echo it either.
		record(h.do("PUT", "/api/v1/servers/"+srv.ID+"/env/OTHER/value", key, map[string]any{"value": secret})).want(t, 404)
		record(h.do("PUT", path+"/value", key, `{"value": "`+secret+`", "value2": 1}`)).want(t, 400)
		record(h.do("PUT", path+"/value", key, `{"value": `+secret+`}`)).want(t, 400)
		record(h.do("PUT", path+"/value", key, map[string]any{"value": secret + strings.Repeat("x", 8192)})).want(t, 413)
		record(h.do("PUT", path+"/value", "kiln_wrongkey", map[string]any{"value": secret})).want(t, 401)

		// Read everything there is to read.
		var vars struct {
			Items []struct {
				HasValue bool `json:"has_value"`
			}
		}
		record(h.do("GET", "/api/v1/servers/"+srv.ID+"/env", key, nil)).want(t, 200).decode(t, &vars)
		if len(vars.Items) != 1 || !vars.Items[0].HasValue {
			t.Fatalf("env list %+v", vars)
		}
		for _, p := range []string{
			"/api/v1/servers/" + srv.ID, "/api/v1/servers",
			"/api/v1/servers/" + srv.ID + "/tools", "/api/v1/account", "/api/v1/executions", "/api/v1/library",
		} {
			record(h.do("GET", p, key, nil)).want(t, 200)
		}
		for _, p := range []string{"/audit", "/audit?customer=" + custID, "/customers", "/customers/" + custID, "/customers/" + custID + "/keys", "/library"} {
			record(h.admin("GET", p, nil)).want(t, 200)
		}
		for _, r := range seen {
			if bytes.Contains(r.body, []byte(secret)) || bytes.Contains(r.body, []byte("SECRET-0f1e")) {
				t.Fatalf("a response holds the secret: %s", r)
			}
			for name, values := range r.header {
				if strings.Contains(strings.Join(values, " "), "SECRET") {
					t.Fatalf("header %s holds the secret", name)
				}
			}
		}
		if logs := h.logs.String(); strings.Contains(logs, "SECRET") || !strings.Contains(logs, "/env/API_TOKEN/value") {
			t.Fatalf("the log holds the secret, or logged nothing:\n%s", logs)
		}

		// Stored sealed, bound to its server and name.
		sealed, err := h.store.EnvValue(t.Context(), srv.ID, "API_TOKEN")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte("SECRET")) {
			t.Fatal("the value is stored in clear")
		}
		plain, err := h.box.Open(sealed, secrets.EnvValueAssociatedData(srv.ID, "API_TOKEN"))
		if err != nil || string(plain) != secret {
			t.Fatalf("opening the stored value: %v", err)
		}
		if _, err := h.box.Open(sealed, secrets.EnvValueAssociatedData(srv.ID, "OTHER")); err == nil {
			t.Fatal("the sealed value opens under another name")
		}
	})
}

// TestRedeclaringSecretClearsValue: a stored value cannot be read back by
// declaring the variable not secret (the module would get it in clear), nor
// sent elsewhere by changing a secret's hosts: either change deletes the
// value, the answer says so, and the audit record shows the change without
// the value.
func TestRedeclaringSecretClearsValue(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		const secret = "sk-live-SECRET-7a6b5c4d3e2f"
		custID, key := h.customer("free")
		srv := h.server(key, "s")
		path := "/api/v1/servers/" + srv.ID + "/env/API_TOKEN"
		// declare sends body, wanting value_cleared as given and a value
		// stored after it or not.
		declare := func(body map[string]any, wantCleared, wantValue bool) {
			t.Helper()
			var v struct {
				HasValue     bool  `json:"has_value"`
				ValueCleared *bool `json:"value_cleared"`
			}
			h.do("PUT", path, key, body).want(t, 200).decode(t, &v)
			if v.ValueCleared == nil || *v.ValueCleared != wantCleared || v.HasValue != wantValue {
				t.Fatalf("declaring %v: %+v, want value_cleared %v", body, v, wantCleared)
			}
			if _, err := h.store.EnvValue(t.Context(), srv.ID, "API_TOKEN"); (err == nil) != wantValue {
				t.Fatalf("declaring %v: stored value: %v", body, err)
			}
		}
		setValue := func() {
			t.Helper()
			h.do("PUT", path+"/value", key, map[string]any{"value": secret}).want(t, 204)
		}
		declare(map[string]any{"secret": true, "hosts": []string{"api.example.com"}}, false, false)
		setValue()
		declare(map[string]any{"secret": true, "hosts": []string{"API.example.com"}, "required": true}, false, true)
		declare(map[string]any{"secret": false, "hosts": []string{"api.example.com"}}, true, false)
		setValue()
		declare(map[string]any{"secret": true, "hosts": []string{"api.example.com"}}, true, false)
		setValue()
		declare(map[string]any{"secret": true, "hosts": []string{"evil.example"}}, true, false)

		var log struct {
			Items []struct {
				Details struct {
					ValueCleared bool `json:"value_cleared"`
					Changes      map[string]struct {
						Before, After any
					}
				}
			}
		}
		r := h.admin("GET", "/audit?action=envvar.declare&customer="+custID, nil).want(t, 200)
		r.decode(t, &log)
		if len(log.Items) != 5 || strings.Contains(string(r.body), "SECRET") {
			t.Fatalf("audit %s", r.body)
		}
		last := log.Items[0].Details
		hosts := last.Changes["hosts"]
		if !last.ValueCleared || len(last.Changes) != 1 || fmt.Sprint(hosts.Before) != "[api.example.com]" || fmt.Sprint(hosts.After) != "[evil.example]" {
			t.Fatalf("the hosts change was audited as %+v", last)
		}
		if first := log.Items[4].Details; first.ValueCleared || first.Changes["secret"].Before != nil || first.Changes["secret"].After != true {
			t.Fatalf("the declaration was audited as %+v", first)
		}
	})
}
