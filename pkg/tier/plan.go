// Package tier defines Kiln's plans and every limit a plan sets, in one
// struct. The service Kiln replaces hard-coded one tier and ignored what
// customers paid for; here a customer's plan is read from the database
// (Catalog.ForCustomer) and passed down explicitly, and a tier name nobody
// defined is an error, never a quiet fallback.
//
// Free, pro and enterprise have defaults in code (Defaults). Operators
// override them, or add plans of their own, through the operator API
// (PUT /api/v1/admin/plans/{plan}, kiln admin set-plan), which stores them in
// the plans table (Catalog.SetPlan); a stored plan wins over the default of
// the same name.
package tier

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// ErrInvalidPlan: a plan's limits do not make sense (Plan.Validate).
var ErrInvalidPlan = errors.New("tier: invalid plan")

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

// ValidName says whether name can name a plan: lowercase letters, digits and
// dashes, starting with a letter, at most 32 long.
func ValidName(name string) bool { return planName.MatchString(name) }

// Upper bounds of the per-call budgets. Counts (servers, calls, ...) have
// none: they are the operator's business and the code that uses them
// saturates.
const (
	// maxMemory is what a 32-bit module can address.
	maxMemory = 4 << 30
	// MaxTimeout: a tool call is one synchronous MCP request, and clients
	// and proxies give up on a request long before this (typically after 1
	// to 5 minutes); time beyond it is spent on an answer nobody reads,
	// holding a sandbox slot and its memory.
	MaxTimeout = 15 * time.Minute
	// MaxOutputBytes: a result is held whole in memory and sent as one
	// JSON-RPC message; this is 16 times the enterprise default.
	MaxOutputBytes = 64 << 20
)

// Millis converts a timeout in whole milliseconds, as the plans table and
// the API hold it, to a Duration. It saturates: a value too large for a
// Duration stays too large for Validate instead of wrapping round to a small
// or negative one.
func Millis(ms int64) time.Duration {
	const most = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case ms > most:
		return math.MaxInt64
	case ms < -most:
		return math.MinInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// Validate checks that every limit makes sense, so an operator's typo cannot
// give a plan no fuel or unlimited memory. Its message names each field that
// is wrong as the plans table and the API name it (Limit).
func (p Plan) Validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !ValidName(p.Name) {
		bad("name %q must be lowercase letters, digits and dashes, starting with a letter, at most 32 long", p.Name)
	}
	timeoutMS := p.Timeout.Milliseconds()
	for _, l := range []struct {
		field    Limit
		value    int64
		min, max int64 // max 0: none
	}{
		{"rank", int64(p.Rank), 0, 0},
		{LimitServers, int64(p.ServersPerCustomer), 1, 0},
		{LimitTools, int64(p.ToolsPerServer), 1, 0},
		{LimitFuel, p.Fuel, 1, 0},
		{LimitMemory, p.MemoryBytes, 64 << 10, maxMemory},
		{LimitTimeout, timeoutMS, 1, MaxTimeout.Milliseconds()},
		{LimitOutput, p.OutputBytes, 1, MaxOutputBytes},
		{LimitHTTPRequests, int64(p.HTTPRequestsPerCall), 0, 0},
		{LimitCallsPerMinute, int64(p.CallsPerMinute), 1, 0},
		{LimitGenerationsPerDay, int64(p.LLMGenerationsPerDay), 0, 0},
	} {
		switch {
		case l.value < l.min:
			bad("%s is %d; it must be at least %d", l.field, l.value, l.min)
		case l.max > 0 && l.value > l.max:
			// The value is not repeated: a timeout may have saturated (Millis).
			bad("%s must be at most %d", l.field, l.max)
		}
	}
	if p.Timeout%time.Millisecond != 0 {
		bad("%s %v must be whole milliseconds", LimitTimeout, p.Timeout)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w %q: %s", ErrInvalidPlan, p.Name, strings.Join(problems, "; "))
	}
	return nil
}
