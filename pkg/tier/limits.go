package tier

import "fmt"

// Limit names one of a plan's limits. The names match the plans table's
// columns and the API's fields, and are stable, for API error bodies.
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

// units says what a limit a LimitError can name counts, for messages.
var units = map[Limit]string{
	LimitServers: "servers per customer",
	LimitTools:   "tools per server",
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

// The checks of counts: current is how many there are now; the check is
// whether one more fits. The other limits are enforced where they are spent
// (the sandbox, the egress client, the rate limiters), with the plan's
// numbers passed down.

// CheckServers says whether a customer with current servers may create one more.
func CheckServers(p Plan, current int) error {
	return checkOneMore(p, LimitServers, p.ServersPerCustomer, current)
}

// CheckTools says whether a server with current tools may get one more.
func CheckTools(p Plan, current int) error {
	return checkOneMore(p, LimitTools, p.ToolsPerServer, current)
}

func checkOneMore(p Plan, l Limit, max, current int) error {
	if current >= max {
		return &LimitError{Plan: p.Name, Limit: l, Max: int64(max), Value: int64(current) + 1}
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
