package tier

import (
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

func TestValidate(t *testing.T) {
	good, _ := Default(Pro)
	for name, change := range map[string]func(*Plan){
		"empty name":     func(p *Plan) { p.Name = "" },
		"bad name":       func(p *Plan) { p.Name = "Pro Plan" },
		"negative rank":  func(p *Plan) { p.Rank = -1 },
		"no servers":     func(p *Plan) { p.ServersPerCustomer = 0 },
		"no tools":       func(p *Plan) { p.ToolsPerServer = 0 },
		"no fuel":        func(p *Plan) { p.Fuel = 0 },
		"tiny memory":    func(p *Plan) { p.MemoryBytes = 1024 },
		"huge memory":    func(p *Plan) { p.MemoryBytes = 5 << 30 },
		"no timeout":     func(p *Plan) { p.Timeout = 0 },
		"sub-ms timeout": func(p *Plan) { p.Timeout = time.Second + time.Microsecond },
		"no output":      func(p *Plan) { p.OutputBytes = 0 },
		"negative http":  func(p *Plan) { p.HTTPRequestsPerCall = -1 },
		"no calls":       func(p *Plan) { p.CallsPerMinute = 0 },
		"negative gens":  func(p *Plan) { p.LLMGenerationsPerDay = -1 },
	} {
		p := good
		change(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, p)
		}
	}
}
