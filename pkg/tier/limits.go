package tier

import (
	"fmt"
	"time"
)

// Limit names one of a plan's limits. The names match the plans table's
// columns and are stable, for API error bodies.
type Limit string

// The limits a plan sets.
const (
	LimitServers           Limit = "servers_per_customer"
	LimitTools             Limit = "tools_per_server"
	LimitLibrary           Limit = "library_tier"
	LimitFuel              Limit = "fuel"
	LimitMemory            Limit = "memory_bytes"
	LimitTimeout           Limit = "timeout_ms"
	LimitOutput            Limit = "output_bytes"
	LimitHTTPRequests      Limit = "http_requests_per_call"
	LimitCallsPerMinute    Limit = "calls_per_minute"
	LimitGenerationsPerDay Limit = "llm_generations_per_day"
)

// units says what a limit counts, for messages.
var units = map[Limit]string{
	LimitServers:           "servers per customer",
	LimitTools:             "tools per server",
	LimitFuel:              "units of fuel per call",
	LimitMemory:            "bytes of memory per call",
	LimitTimeout:           "milliseconds per call",
	LimitOutput:            "bytes of output per call",
	LimitHTTPRequests:      "HTTP requests per call",
	LimitCallsPerMinute:    "calls per minute",
	LimitGenerationsPerDay: "LLM generations per day",
}

// LimitError says which limit of which plan a request crosses. Max is the
// plan's limit and Value what the request would reach. For LimitLibrary, Max
// is the plan's rank and Value the rank the module requires.
type LimitError struct {
	Plan  string
	Limit Limit
	Max   int64
	Value int64
}

func (e *LimitError) Error() string {
	if e.Limit == LimitLibrary {
		return fmt.Sprintf("tier: the %s plan (rank %d) cannot use a library module that needs a plan of rank %d or higher",
			e.Plan, e.Max, e.Value)
	}
	return fmt.Sprintf("tier: the %s plan allows at most %d %s; this would be %d", e.Plan, e.Max, units[e.Limit], e.Value)
}

// Counts. current is how many there are now; the check is whether one more
// fits.

// CheckServers says whether a customer with current servers may create one more.
func CheckServers(p Plan, current int) error {
	return checkOneMore(p, LimitServers, p.ServersPerCustomer, current)
}

// CheckTools says whether a server with current tools may get one more.
func CheckTools(p Plan, current int) error {
	return checkOneMore(p, LimitTools, p.ToolsPerServer, current)
}

// CheckHTTPRequests says whether a call that made current requests may make
// one more.
func CheckHTTPRequests(p Plan, current int) error {
	return checkOneMore(p, LimitHTTPRequests, p.HTTPRequestsPerCall, current)
}

// CheckCallsPerMinute says whether a customer that made current calls in the
// last minute may make one more.
func CheckCallsPerMinute(p Plan, current int) error {
	return checkOneMore(p, LimitCallsPerMinute, p.CallsPerMinute, current)
}

// CheckGenerationsPerDay says whether a customer that ran current wizard
// generations in the last day may run one more.
func CheckGenerationsPerDay(p Plan, current int) error {
	return checkOneMore(p, LimitGenerationsPerDay, p.LLMGenerationsPerDay, current)
}

func checkOneMore(p Plan, l Limit, max, current int) error {
	if current >= max {
		return &LimitError{Plan: p.Name, Limit: l, Max: int64(max), Value: int64(current) + 1}
	}
	return nil
}

// Amounts. A request for a per-call budget above the plan's (a tool asking
// for more time, say) fails; the sandbox itself is given the plan's values.

// CheckFuel says whether a call may have fuel units.
func CheckFuel(p Plan, fuel int64) error { return checkAmount(p, LimitFuel, p.Fuel, fuel) }

// CheckMemory says whether a call may have bytes of memory.
func CheckMemory(p Plan, bytes int64) error {
	return checkAmount(p, LimitMemory, p.MemoryBytes, bytes)
}

// CheckTimeout says whether a call may run for d.
func CheckTimeout(p Plan, d time.Duration) error {
	if d > p.Timeout {
		return &LimitError{Plan: p.Name, Limit: LimitTimeout, Max: p.Timeout.Milliseconds(), Value: durationMS(d)}
	}
	return nil
}

// durationMS rounds up, so a timeout just over the limit does not print as
// equal to it.
func durationMS(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }

// CheckOutput says whether a call may return bytes of output.
func CheckOutput(p Plan, bytes int64) error {
	return checkAmount(p, LimitOutput, p.OutputBytes, bytes)
}

func checkAmount(p Plan, l Limit, max, value int64) error {
	if value > max {
		return &LimitError{Plan: p.Name, Limit: l, Max: max, Value: value}
	}
	return nil
}

// CheckLibrary says whether plan p may use a library module whose minimum
// tier is plan minTier (resolve it with Catalog.Plan, or use
// Catalog.CheckLibrary).
func CheckLibrary(p, minTier Plan) error {
	if p.Rank < minTier.Rank {
		return &LimitError{Plan: p.Name, Limit: LimitLibrary, Max: int64(p.Rank), Value: int64(minTier.Rank)}
	}
	return nil
}
