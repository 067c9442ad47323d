package tier

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	plans := Defaults()
	if len(plans) != 3 || plans[0].Name != Free || plans[1].Name != Pro || plans[2].Name != Enterprise {
		t.Fatalf("defaults %v", plans)
	}
	for i, p := range plans {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			continue
		}
		// A higher plan never allows less.
		q := plans[i-1]
		if p.Rank <= q.Rank || p.ServersPerCustomer < q.ServersPerCustomer || p.ToolsPerServer < q.ToolsPerServer ||
			p.Fuel < q.Fuel || p.MemoryBytes < q.MemoryBytes || p.Timeout < q.Timeout || p.OutputBytes < q.OutputBytes ||
			p.HTTPRequestsPerCall < q.HTTPRequestsPerCall || p.CallsPerMinute < q.CallsPerMinute ||
			p.LLMGenerationsPerDay < q.LLMGenerationsPerDay {
			t.Errorf("%s allows less than %s", p.Name, q.Name)
		}
	}
	// Defaults hands out copies.
	plans[0].Fuel = 1
	if p, _ := Default(Free); p.Fuel == 1 {
		t.Fatal("changing a returned default changed the defaults")
	}
	if _, ok := Default("gold"); ok {
		t.Fatal("a default for an unknown plan")
	}
}

// TestValidate crosses every bound of every limit: the value at the bound
// is accepted, the one past it refused with a message naming the field as
// the API names it.
func TestValidate(t *testing.T) {
	good, _ := Default(Pro)
	for _, c := range []struct {
		field      string
		ok, refuse func(*Plan)
	}{
		{"name", func(p *Plan) { p.Name = "a" + strings.Repeat("b", 31) }, func(p *Plan) { p.Name = "a" + strings.Repeat("b", 32) }},
		{"name", func(p *Plan) { p.Name = "team-2" }, func(p *Plan) { p.Name = "Pro Plan" }},
		{"name", func(p *Plan) {}, func(p *Plan) { p.Name = "" }},
		{"rank", func(p *Plan) { p.Rank = 0 }, func(p *Plan) { p.Rank = -1 }},
		{"servers_per_customer", func(p *Plan) { p.ServersPerCustomer = 1 }, func(p *Plan) { p.ServersPerCustomer = 0 }},
		{"tools_per_server", func(p *Plan) { p.ToolsPerServer = 1 }, func(p *Plan) { p.ToolsPerServer = 0 }},
		{"fuel", func(p *Plan) { p.Fuel = 1 }, func(p *Plan) { p.Fuel = 0 }},
		{"memory_bytes", func(p *Plan) { p.MemoryBytes = 64 << 10 }, func(p *Plan) { p.MemoryBytes = 64<<10 - 1 }},
		{"memory_bytes", func(p *Plan) { p.MemoryBytes = 4 << 30 }, func(p *Plan) { p.MemoryBytes = 4<<30 + 1 }},
		{"timeout_ms", func(p *Plan) { p.Timeout = time.Millisecond }, func(p *Plan) { p.Timeout = 0 }},
		{"timeout_ms", func(p *Plan) { p.Timeout = MaxTimeout }, func(p *Plan) { p.Timeout = MaxTimeout + time.Millisecond }},
		{"timeout_ms", func(p *Plan) { p.Timeout = time.Second }, func(p *Plan) { p.Timeout = time.Second + time.Microsecond }},
		{"timeout_ms", func(p *Plan) {}, func(p *Plan) { p.Timeout = Millis(math.MaxInt64) }},
		{"output_bytes", func(p *Plan) { p.OutputBytes = 1 }, func(p *Plan) { p.OutputBytes = 0 }},
		{"output_bytes", func(p *Plan) { p.OutputBytes = MaxOutputBytes }, func(p *Plan) { p.OutputBytes = MaxOutputBytes + 1 }},
		// No egress and no wizard are plans an operator may want.
		{"http_requests_per_call", func(p *Plan) { p.HTTPRequestsPerCall = 0 }, func(p *Plan) { p.HTTPRequestsPerCall = -1 }},
		{"calls_per_minute", func(p *Plan) { p.CallsPerMinute = 1 }, func(p *Plan) { p.CallsPerMinute = 0 }},
		{"llm_generations_per_day", func(p *Plan) { p.LLMGenerationsPerDay = 0 }, func(p *Plan) { p.LLMGenerationsPerDay = -1 }},
	} {
		p := good
		c.ok(&p)
		if err := p.Validate(); err != nil {
			t.Errorf("%s: refused %+v: %v", c.field, p, err)
		}
		c.refuse(&p)
		err := p.Validate()
		if !errors.Is(err, ErrInvalidPlan) || !regexp.MustCompile(`[:;] `+c.field+` `).MatchString(err.Error()) {
			t.Errorf("%s: %+v gave %v, want an error naming the field", c.field, p, err)
		}
	}
	// Every problem is named at once, on one line.
	bad := good
	bad.Fuel, bad.CallsPerMinute = 0, 0
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "fuel is 0") ||
		!strings.Contains(err.Error(), "; calls_per_minute is 0") || strings.Contains(err.Error(), "\n") {
		t.Errorf("two problems: %v", err)
	}
}

// TestMillis: a timeout too large for a Duration saturates instead of
// wrapping round to one that passes Validate.
func TestMillis(t *testing.T) {
	for ms, want := range map[int64]time.Duration{
		0: 0, 1500: 1500 * time.Millisecond, -1: -time.Millisecond,
		math.MaxInt64: math.MaxInt64, math.MaxInt64 / 1_000_000 * 2: math.MaxInt64, math.MinInt64: math.MinInt64,
	} {
		if got := Millis(ms); got != want {
			t.Errorf("Millis(%d) = %v, want %v", ms, got, want)
		}
	}
}
