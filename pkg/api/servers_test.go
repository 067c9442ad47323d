package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/tier"
)

func TestServerCRUD(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer("free")
		var srv serverJSON
		r := h.do("POST", "/api/v1/servers", key, map[string]any{
			"name": "weather", "description": "Forecasts", "allowed_hosts": []string{"API.Weather.example", "*.example.org:8443", "api.weather.example"},
		}).want(t, 201)
		r.decode(t, &srv)
		if srv.Version != 1 || strings.Join(srv.AllowedHosts, ",") != "api.weather.example,*.example.org:8443" {
			t.Fatalf("server %+v", srv)
		}
		if r.header.Get("ETag") != `"1"` || r.header.Get("Location") != "/api/v1/servers/"+srv.ID {
			t.Fatalf("headers %v", r.header)
		}
		h.do("POST", "/api/v1/servers", key, map[string]any{"name": "weather"}).want(t, 409)

		got := h.do("GET", "/api/v1/servers/"+srv.ID, key, nil).want(t, 200)
		if got.header.Get("ETag") != `"1"` {
			t.Fatalf("ETag %q", got.header.Get("ETag"))
		}
		var list struct{ Items []serverJSON }
		h.do("GET", "/api/v1/servers", key, nil).want(t, 200).decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != srv.ID {
			t.Fatalf("list %+v", list)
		}

		// Updates name the version they change, in the body or If-Match.
		var updated serverJSON
		h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{"description": "Better forecasts", "version": 1}).want(t, 200).decode(t, &updated)
		if updated.Version != 2 || updated.Description != "Better forecasts" || updated.Name != "weather" {
			t.Fatalf("updated %+v", updated)
		}
		h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{"name": "storms"}, "If-Match", `"2"`).want(t, 200).decode(t, &updated)
		if updated.Version != 3 || updated.Name != "storms" {
			t.Fatalf("updated by If-Match %+v", updated)
		}
		var stale struct {
			Error   string
			Current int64 `json:"current_version"`
		}
		h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{"name": "x", "version": 2}).want(t, 409).decode(t, &stale)
		if stale.Current != 3 || !strings.Contains(stale.Error, "version 3") {
			t.Fatalf("stale update answer %+v", stale)
		}
		h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{"name": "x"}).want(t, 428)
		h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{"name": "x", "version": 3}, "If-Match", `"2"`).want(t, 400)
		h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{"name": "x"}, "If-Match", `"three"`).want(t, 400)
		h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{"name": "", "version": 3}).want(t, 400)
		h.do("PATCH", "/api/v1/servers/srv_nope", key, map[string]any{"name": "x", "version": 1}).want(t, 404)
		other := h.server(key, "other")
		h.do("PATCH", "/api/v1/servers/"+other.ID, key, map[string]any{"name": "storms", "version": 1}).want(t, 409)

		// Another customer sees none of it.
		_, otherKey := h.customer("free")
		h.do("GET", "/api/v1/servers/"+srv.ID, otherKey, nil).want(t, 404)
		h.do("PATCH", "/api/v1/servers/"+srv.ID, otherKey, map[string]any{"name": "mine", "version": 3}).want(t, 404)
		h.do("DELETE", "/api/v1/servers/"+srv.ID, otherKey, nil).want(t, 404)

		h.do("DELETE", "/api/v1/servers/"+srv.ID, key, nil).want(t, 204)
		h.do("GET", "/api/v1/servers/"+srv.ID, key, nil).want(t, 404)
		h.do("DELETE", "/api/v1/servers/"+srv.ID, key, nil).want(t, 404)

		var log struct {
			Items []struct{ Action, Actor string }
		}
		h.admin("GET", "/audit?action=server.update", nil).want(t, 200).decode(t, &log)
		if len(log.Items) != 2 || !strings.HasPrefix(log.Items[0].Actor, "key:") {
			t.Fatalf("audit %+v", log)
		}
	})
}

func TestServerInputIsChecked(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	_, key := h.customer("free")
	tooMany := make([]string, 65)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("h%d.example.com", i)
	}
	for _, tc := range []struct {
		body   any
		status int
	}{
		{map[string]any{"name": ""}, 400},
		{map[string]any{"name": "a\x00b"}, 400},
		{map[string]any{"name": strings.Repeat("x", 101)}, 400},
		{map[string]any{"name": "ok", "description": strings.Repeat("d", 2001)}, 400},
		{map[string]any{"name": "ok", "allowed_hosts": []string{"http://evil.example"}}, 400},
		{map[string]any{"name": "ok", "allowed_hosts": []string{"a b"}}, 400},
		{map[string]any{"name": "ok", "allowed_hosts": tooMany}, 400},
		{map[string]any{"name": "ok", "allowed_hosts": tooMany[:64]}, 201},
		{map[string]any{"name": 7}, 400},
		{map[string]any{"name": "ok2", "colour": "red"}, 400},
		{`{"name": "ok3"} {}`, 400},
		{`[]`, 400},
		{`not json`, 400},
		{``, 400},
	} {
		if r := h.do("POST", "/api/v1/servers", key, tc.body); r.status != tc.status {
			t.Errorf("%v: got %s, want %d", tc.body, r, tc.status)
		}
	}
	h.raw("POST", "/api/v1/servers", key, "text/plain", strings.NewReader(`{"name":"x"}`)).want(t, 415)
	big := `{"name":"` + strings.Repeat("x", 9<<20) + `"}`
	h.do("POST", "/api/v1/servers", key, big).want(t, 413)
}

// TestServersPerCustomerLimit: the plan's server limit is crossed through
// the API, and the answer names the limit.
func TestServersPerCustomerLimit(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer(tier.Free)
		free, _ := tier.Default(tier.Free)
		for i := range free.ServersPerCustomer {
			h.server(key, fmt.Sprintf("s%d", i))
		}
		var refusal struct {
			Error, Limit, Plan string
			Max                int
		}
		h.do("POST", "/api/v1/servers", key, map[string]any{"name": "one too many"}).want(t, 403).decode(t, &refusal)
		if refusal.Limit != "servers_per_customer" || refusal.Plan != "free" || refusal.Max != free.ServersPerCustomer ||
			!strings.Contains(refusal.Error, fmt.Sprintf("at most %d servers per customer", free.ServersPerCustomer)) {
			t.Fatalf("refusal %+v", refusal)
		}
		var account struct{ Servers int }
		h.do("GET", "/api/v1/account", key, nil).want(t, 200).decode(t, &account)
		if account.Servers != free.ServersPerCustomer {
			t.Fatalf("account %+v", account)
		}
	})
}

// TestToolsPerServerLimit: the plan's tool limit is crossed through the API.
func TestToolsPerServerLimit(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.publish("echo", "1.0.0", "free", echoWasm(t))
		_, key := h.customer(tier.Free)
		srv := h.server(key, "s")
		free, _ := tier.Default(tier.Free)
		add := func(i int) resp {
			return h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{
				"name": fmt.Sprintf("echo%d", i), "library": map[string]any{"name": "echo"},
			})
		}
		for i := range free.ToolsPerServer {
			add(i).want(t, 201)
		}
		var refusal struct {
			Error, Limit string
			Max          int
		}
		add(free.ToolsPerServer).want(t, 403).decode(t, &refusal)
		if refusal.Limit != "tools_per_server" || refusal.Max != free.ToolsPerServer ||
			!strings.Contains(refusal.Error, "tools per server") {
			t.Fatalf("refusal %+v", refusal)
		}
		// Deleting a tool makes room again.
		var tools struct{ Items []struct{ ID string } }
		h.do("GET", "/api/v1/servers/"+srv.ID+"/tools", key, nil).want(t, 200).decode(t, &tools)
		h.do("DELETE", "/api/v1/servers/"+srv.ID+"/tools/"+tools.Items[0].ID, key, nil).want(t, 204)
		add(free.ToolsPerServer).want(t, 201)
	})
}

// TestConcurrentServerUpdates: two updates of the same version at once:
// one wins, the other gets 409.
func TestConcurrentServerUpdates(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer("free")
		srv := h.server(key, "raced")
		for round := range 5 {
			version := srv.Version + int64(round)
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]resp, 2)
			for i := range results {
				wg.Go(func() {
					<-start
					results[i] = h.do("PATCH", "/api/v1/servers/"+srv.ID, key, map[string]any{
						"description": fmt.Sprintf("writer %d, round %d", i, round), "version": version,
					})
				})
			}
			close(start)
			wg.Wait()
			statuses := []int{results[0].status, results[1].status}
			if !(statuses[0] == 200 && statuses[1] == 409) && !(statuses[0] == 409 && statuses[1] == 200) {
				t.Fatalf("round %d: statuses %v: %s / %s", round, statuses, results[0], results[1])
			}
		}
		var final serverJSON
		h.do("GET", "/api/v1/servers/"+srv.ID, key, nil).want(t, 200).decode(t, &final)
		if final.Version != srv.Version+5 {
			t.Fatalf("version %d after 5 won rounds", final.Version)
		}
	})
}
