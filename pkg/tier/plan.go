// Package tier defines Kiln's plans and every limit a plan sets, in one
// struct. The service Kiln replaces hard-coded one tier and ignored what
// customers paid for; here a customer's plan is read from the database
// (Catalog.ForCustomer) and passed down explicitly, and a tier name nobody
// defined is an error, never a quiet fallback.
//
// Free, pro and enterprise have defaults in code (Defaults). Operators
// override them, or add plans of their own, through the plans table
// (Catalog.SetPlan); a stored plan wins over the default of the same name.
package tier

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// The built-in plans.
const (
	Free       = "free"
	Pro        = "pro"
	Enterprise = "enterprise"
)

// Plan is everything a tier allows. Limits on counts (servers, tools, HTTP
// requests, calls, generations) are maxima; the per-call budgets (fuel,
// memory, timeout, output) are what the sandbox gives each call.
type Plan struct {
	Name string
	// Rank orders plans for library modules: a module whose minimum tier is
	// plan M is open to plans with Rank >= M.Rank.
	Rank int

	ServersPerCustomer int // servers one customer may have
	ToolsPerServer     int // tools one server may have

	Fuel        int64         // fuel units per call (see sandbox/fuel for the unit)
	MemoryBytes int64         // linear memory per call
	Timeout     time.Duration // wall-clock time per call
	OutputBytes int64         // size of a call's result

	HTTPRequestsPerCall  int // outbound HTTP requests per call; 0 means no egress
	CallsPerMinute       int // tool calls per customer per minute
	LLMGenerationsPerDay int // wizard generations per customer per day; 0 disables the wizard
}

// Defaults returns the built-in plans, lowest rank first. The numbers are a
// starting point for operators, sized so a free plan is useful but cheap.
func Defaults() []Plan {
	return []Plan{
		{
			Name: Free, Rank: 0,
			ServersPerCustomer: 3, ToolsPerServer: 5,
			Fuel: 100_000_000, MemoryBytes: 32 << 20, Timeout: 2 * time.Second, OutputBytes: 256 << 10,
			HTTPRequestsPerCall: 5, CallsPerMinute: 30, LLMGenerationsPerDay: 20,
		},
		{
			Name: Pro, Rank: 1,
			ServersPerCustomer: 20, ToolsPerServer: 25,
			Fuel: 1_000_000_000, MemoryBytes: 128 << 20, Timeout: 10 * time.Second, OutputBytes: 1 << 20,
			HTTPRequestsPerCall: 20, CallsPerMinute: 300, LLMGenerationsPerDay: 200,
		},
		{
			Name: Enterprise, Rank: 2,
			ServersPerCustomer: 200, ToolsPerServer: 100,
			Fuel: 10_000_000_000, MemoryBytes: 512 << 20, Timeout: 30 * time.Second, OutputBytes: 4 << 20,
			HTTPRequestsPerCall: 100, CallsPerMinute: 3000, LLMGenerationsPerDay: 2000,
		},
	}
}

// Default returns the built-in plan called name.
func Default(name string) (Plan, bool) {
	for _, p := range Defaults() {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}

var planName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// maxMemory is what a 32-bit module can address.
const maxMemory = 4 << 30

// Validate checks that every limit makes sense, so an operator's typo cannot
// give a plan no fuel or unlimited memory.
func (p Plan) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !planName.MatchString(p.Name) {
		bad("name %q must be lowercase letters, digits and dashes, starting with a letter, at most 32 long", p.Name)
	}
	if p.Rank < 0 {
		bad("rank %d is negative", p.Rank)
	}
	for _, l := range []struct {
		name  string
		value int64
		min   int64
	}{
		{"servers per customer", int64(p.ServersPerCustomer), 1},
		{"tools per server", int64(p.ToolsPerServer), 1},
		{"fuel", p.Fuel, 1},
		{"memory", p.MemoryBytes, 64 << 10},
		{"timeout", int64(p.Timeout), int64(time.Millisecond)},
		{"output bytes", p.OutputBytes, 1},
		{"HTTP requests per call", int64(p.HTTPRequestsPerCall), 0},
		{"calls per minute", int64(p.CallsPerMinute), 1},
		{"LLM generations per day", int64(p.LLMGenerationsPerDay), 0},
	} {
		if l.value < l.min {
			bad("%s is %d; it must be at least %d", l.name, l.value, l.min)
		}
	}
	if p.MemoryBytes > maxMemory {
		bad("memory %d is above the 4 GiB a module can address", p.MemoryBytes)
	}
	if p.Timeout%time.Millisecond != 0 {
		bad("timeout %v must be whole milliseconds", p.Timeout)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tier: plan %q: %w", p.Name, err)
	}
	return nil
}
