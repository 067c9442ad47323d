package api_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/tier"
)

type planJSON struct {
	Name                 string `json:"name"`
	Source               string `json:"source"`
	Rank                 int    `json:"rank"`
	ServersPerCustomer   int    `json:"servers_per_customer"`
	ToolsPerServer       int    `json:"tools_per_server"`
	Fuel                 int64  `json:"fuel"`
	MemoryBytes          int64  `json:"memory_bytes"`
	TimeoutMS            int64  `json:"timeout_ms"`
	OutputBytes          int64  `json:"output_bytes"`
	HTTPRequestsPerCall  int    `json:"http_requests_per_call"`
	CallsPerMinute       int    `json:"calls_per_minute"`
	LLMGenerationsPerDay int    `json:"llm_generations_per_day"`
}

// teamPlan is a complete PUT body, changed by the given fields.
func teamPlan(change map[string]any) map[string]any {
	body := map[string]any{
		"rank": 1, "servers_per_customer": 50, "tools_per_server": 10, "fuel": 500_000_000, "memory_bytes": 64 << 20,
		"timeout_ms": 5000, "output_bytes": 1 << 20, "http_requests_per_call": 0, "calls_per_minute": 120, "llm_generations_per_day": 0,
	}
	maps.Copy(body, change)
	return body
}

func TestPlansListAndRead(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	var all struct{ Items []planJSON }
	h.admin("GET", "/plans", nil).want(t, 200).decode(t, &all)
	if len(all.Items) != 3 {
		t.Fatalf("plans %+v", all)
	}
	for i, want := range tier.Defaults() {
		got := all.Items[i]
		if got.Name != want.Name || got.Source != "default" || got.Fuel != want.Fuel || got.MemoryBytes != want.MemoryBytes ||
			got.TimeoutMS != want.Timeout.Milliseconds() || got.LLMGenerationsPerDay != want.LLMGenerationsPerDay {
			t.Errorf("plan %d: %+v, want %+v", i, got, want)
		}
	}
	var pro planJSON
	h.admin("GET", "/plans/pro", nil).want(t, 200).decode(t, &pro)
	if pro != all.Items[1] {
		t.Fatalf("pro %+v", pro)
	}
	h.admin("GET", "/plans/gold", nil).want(t, 404)
	h.admin("GET", "/plans/Not%20A%20Name", nil).want(t, 404)
	h.do("GET", "/api/v1/admin/plans", "", nil).want(t, 401)
	_, key := h.customer(tier.Free)
	h.do("GET", "/api/v1/admin/plans", key, nil).want(t, 401)
}

// TestPutPlanBounds crosses every bound the API enforces: missing limits
// are named (400), out-of-bounds ones too (422), and the value at a bound
// is stored.
func TestPutPlanBounds(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	for _, c := range []struct {
		body   map[string]any
		status int
		want   string
	}{
		{map[string]any{"rank": 1, "fuel": 5}, 400, "missing: servers_per_customer, tools_per_server, memory_bytes, timeout_ms"},
		{teamPlan(map[string]any{"name": "other"}), 400, `name "other" differs`},
		{teamPlan(map[string]any{"source": "operator"}), 400, "source"},
		{teamPlan(map[string]any{"fuel": 1.5}), 400, "fuel"},
		{teamPlan(map[string]any{"fuel": 0}), 422, "fuel is 0; it must be at least 1"},
		{teamPlan(map[string]any{"rank": -1}), 422, "rank is -1"},
		{teamPlan(map[string]any{"servers_per_customer": 0, "calls_per_minute": 0}), 422, "servers_per_customer is 0; it must be at least 1; calls_per_minute is 0"},
		{teamPlan(map[string]any{"memory_bytes": 64<<10 - 1}), 422, "memory_bytes is 65535; it must be at least 65536"},
		{teamPlan(map[string]any{"memory_bytes": 4<<30 + 1}), 422, "memory_bytes must be at most 4294967296"},
		{teamPlan(map[string]any{"timeout_ms": 0}), 422, "timeout_ms is 0"},
		{teamPlan(map[string]any{"timeout_ms": 900_001}), 422, "timeout_ms must be at most 900000"},
		// Too large for a Duration in nanoseconds: refused, not wrapped round.
		{teamPlan(map[string]any{"timeout_ms": int64(9_000_000_000_000_000)}), 422, "timeout_ms must be at most 900000"},
		{teamPlan(map[string]any{"output_bytes": 64<<20 + 1}), 422, "output_bytes must be at most 67108864"},
		{teamPlan(map[string]any{"http_requests_per_call": -1}), 422, "http_requests_per_call is -1"},
		{teamPlan(map[string]any{"llm_generations_per_day": -1}), 422, "llm_generations_per_day is -1"},
	} {
		if msg := h.admin("PUT", "/plans/team", c.body).want(t, c.status).errorMessage(t); !strings.Contains(msg, c.want) {
			t.Errorf("%v: %q, want it to mention %q", c.body, msg, c.want)
		}
	}
	h.admin("GET", "/plans/team", nil).want(t, 404)
	msg := h.admin("PUT", "/plans/Team%20A", teamPlan(nil)).want(t, 422).errorMessage(t)
	if !strings.Contains(msg, `name "Team A" must be lowercase`) {
		t.Errorf("bad name: %q", msg)
	}
	var p planJSON
	h.admin("PUT", "/plans/team", teamPlan(map[string]any{"memory_bytes": 4 << 30, "timeout_ms": 900_000, "output_bytes": 64 << 20, "name": "team"})).
		want(t, 200).decode(t, &p)
	if p.Name != "team" || p.Source != "operator" || p.MemoryBytes != 4<<30 || p.TimeoutMS != 900_000 || p.OutputBytes != 64<<20 {
		t.Fatalf("at the bounds: %+v", p)
	}
}

// TestPlanLifecycle: an operator adds a plan, puts a customer on it,
// overrides a built-in plan, and removes both; each change is audited with
// its fields before and after.
func TestPlanLifecycle(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var team planJSON
		h.admin("PUT", "/plans/team", teamPlan(nil)).want(t, 200).decode(t, &team)
		if team.Source != "operator" || team.ServersPerCustomer != 50 || team.TimeoutMS != 5000 {
			t.Fatalf("team %+v", team)
		}
		var all struct{ Items []planJSON }
		h.admin("GET", "/plans", nil).want(t, 200).decode(t, &all)
		if names := planNames(all.Items); names != "free pro team enterprise" {
			t.Fatalf("plans %s", names)
		}
		custID, key := h.customer("team")
		var account struct{ Plan planJSON }
		h.do("GET", "/api/v1/account", key, nil).want(t, 200).decode(t, &account)
		if account.Plan.Name != "team" || account.Plan.CallsPerMinute != 120 {
			t.Fatalf("account %+v", account)
		}

		// A plan customers are on stays until they are moved.
		msg := h.admin("DELETE", "/plans/team", nil).want(t, 409).errorMessage(t)
		if !strings.Contains(msg, `1 customer is on plan "team"`) {
			t.Errorf("removing a plan in use: %q", msg)
		}
		h.admin("GET", "/plans/team", nil).want(t, 200)

		// Overriding a built-in plan changes its customers' limits at once.
		h.admin("PUT", "/plans/free", teamPlan(map[string]any{"rank": 0, "fuel": 7})).want(t, 200)
		h.admin("PUT", "/customers/"+custID+"/tier", map[string]any{"tier": "free"}).want(t, 200)
		h.do("GET", "/api/v1/account", key, nil).want(t, 200).decode(t, &account)
		if account.Plan.Name != "free" || account.Plan.Fuel != 7 {
			t.Fatalf("on the overridden free plan: %+v", account.Plan)
		}

		h.admin("DELETE", "/plans/team", nil).want(t, 204)
		h.admin("GET", "/plans/team", nil).want(t, 404)
		h.admin("DELETE", "/plans/team", nil).want(t, 404)
		// Removing the override brings the default back, with customers on it.
		h.admin("DELETE", "/plans/free", nil).want(t, 204)
		var free planJSON
		h.admin("GET", "/plans/free", nil).want(t, 200).decode(t, &free)
		if def, _ := tier.Default(tier.Free); free.Source != "default" || free.Fuel != def.Fuel {
			t.Fatalf("free after removing the override %+v", free)
		}
		if msg := h.admin("DELETE", "/plans/free", nil).want(t, 409).errorMessage(t); !strings.Contains(msg, "built-in") {
			t.Errorf("removing a built-in plan: %q", msg)
		}
		checkPlanAudit(t, h)
	})
}

// checkPlanAudit reads the records of TestPlanLifecycle's changes.
func checkPlanAudit(t *testing.T, h *harness) {
	t.Helper()
	type change struct{ Before, After any }
	var log struct {
		Items []struct {
			Actor, Action, Target string
			CustomerID            *string `json:"customer_id"`
			Details               struct{ Changes map[string]change }
		}
	}
	h.admin("GET", "/audit?action=plan.change", nil).want(t, 200).decode(t, &log)
	if len(log.Items) != 2 || log.Items[0].Target != "free" || log.Items[1].Target != "team" || log.Items[0].Actor != "operator" ||
		log.Items[0].CustomerID != nil {
		t.Fatalf("plan.change records %+v", log.Items)
	}
	def, _ := tier.Default(tier.Free)
	free := log.Items[0].Details.Changes
	if free["fuel"] != (change{float64(def.Fuel), 7.0}) || free["source"] != (change{"default", "override"}) {
		t.Errorf("override of free: %+v", free)
	}
	if _, same := free["rank"]; same {
		t.Errorf("an unchanged field is recorded: %+v", free)
	}
	if created := log.Items[1].Details.Changes; created["fuel"] != (change{nil, 5e8}) || len(created) != 11 {
		t.Errorf("creation of team: %+v", created)
	}
	h.admin("GET", "/audit?action=plan.remove", nil).want(t, 200).decode(t, &log)
	if len(log.Items) != 2 || log.Items[0].Target != "free" || log.Items[1].Target != "team" {
		t.Fatalf("plan.remove records %+v", log.Items)
	}
	if back := log.Items[0].Details.Changes; back["fuel"] != (change{7.0, float64(def.Fuel)}) || back["source"] != (change{"override", "default"}) {
		t.Errorf("removal of the override: %+v", back)
	}
	if gone := log.Items[1].Details.Changes; gone["calls_per_minute"] != (change{120.0, nil}) || len(gone) != 11 {
		t.Errorf("removal of team: %+v", gone)
	}
}

func planNames(plans []planJSON) string {
	var names []string
	for _, p := range plans {
		names = append(names, p.Name)
	}
	return strings.Join(names, " ")
}
