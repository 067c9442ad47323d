package mcphost

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/tier"
)

// Rate limits. Three counters, each a token bucket per minute:
//
//   - client IP: every MCP request, before authentication, at
//     Config.IPRequestsPerMinute (the plan is not known yet). It bounds key
//     guessing and floods from one source. IPv6 clients are counted per
//     /64, the block one subscriber usually gets.
//   - server: every MCP message to one server, at requestsPerCall times the
//     plan's calls per minute: a client also initializes and lists tools
//     around its calls, and those must not use up the calls' budget.
//   - customer: tool calls across all of a customer's servers, at the
//     plan's CallsPerMinute, which is what the plan sells.
//
// The last two count the messages of the body as the SDK decodes them
// (peek.go), each message of a batch on its own.
//
// Over a limit, the answer is 429 with Retry-After in whole seconds.

// requestsPerCall is the server limit's allowance for protocol requests
// around each tool call.
const requestsPerCall = 4

// allowIP checks the client IP's budget, answering 429 when it is spent.
func (h *Host) allowIP(w http.ResponseWriter, r *http.Request) bool {
	ip := h.clientIP(r)
	return h.allow(w, r, nil, "ip:"+ip, ratelimit.PerMinute(h.cfg.IPRequestsPerMinute), func() string {
		return fmt.Sprintf("Too many requests from %s: at most %d a minute.", ip, h.cfg.IPRequestsPerMinute)
	})
}

// allowPlan checks the server's budget for each message and the customer's
// for each tool call: a batch costs what its messages would cost sent one
// by one. A batch over a limit is refused whole, and what it was allowed
// before the refusal stays spent, as for requests refused by a later check.
func (h *Host) allowPlan(w http.ResponseWriter, r *http.Request, d *deployment, plan tier.Plan, msgs peeked) bool {
	for range msgs.calls {
		if !h.allow(w, r, msgs.id, "customer:"+d.srv.CustomerID, ratelimit.PerMinute(plan.CallsPerMinute), func() string {
			return fmt.Sprintf("Rate limit: the %s plan allows %d tool calls a minute per customer (getting a prompt or reading a resource counts as one).", plan.Name, plan.CallsPerMinute)
		}) {
			return false
		}
	}
	n := satMul(plan.CallsPerMinute, requestsPerCall)
	// A request whose body holds no message (a GET, which the SDK refuses)
	// still costs one.
	for range max(msgs.messages, 1) {
		if !h.allow(w, r, msgs.id, "server:"+d.srv.ID, ratelimit.PerMinute(n), func() string {
			return fmt.Sprintf("Rate limit: the %s plan allows %d MCP requests a minute per server.", plan.Name, n)
		}) {
			return false
		}
	}
	return true
}

// allow takes one request from key's budget, or answers 429 with the
// sentence refused makes (only then: every request passes here three
// times, and hardly any is refused).
func (h *Host) allow(w http.ResponseWriter, r *http.Request, id json.RawMessage, key string, limit ratelimit.Limit, refused func() string) bool {
	refusal := ratelimit.Admit(r.Context(), h.limiter, key, limit)
	if refusal == nil {
		return true
	}
	refusal.SetHeader(w.Header())
	if refusal.Err != nil {
		if r.Context().Err() == nil {
			h.log.ErrorContext(r.Context(), "rate limiter", "key", key, "error", refusal.Err)
		}
		writeError(w, refusal.Status, id, "Kiln could not check its rate limits; try again shortly.")
		return false
	}
	writeError(w, refusal.Status, id, fmt.Sprintf("%s Retry in %v.", refused(), refusal.Wait()))
	return false
}

// clientIP is the address requests are counted against.
func (h *Host) clientIP(r *http.Request) string {
	return ratelimit.ClientAddr(r, h.cfg.TrustedProxies)
}

// rebinding refuses requests that reached a loopback listener under a
// foreign name: a web page whose DNS name was rebound to 127.0.0.1 must
// not be able to drive a Kiln on the developer's machine. Kiln's own
// public name is accepted, so a reverse proxy on the same machine works.
func (h *Host) rebinding(r *http.Request) string {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || !isLoopbackAddr(local.String()) {
		return ""
	}
	if !h.acceptedHost(r.Host) {
		return fmt.Sprintf("Forbidden: Host %q is not this Kiln's name.", r.Host)
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		host := strings.TrimPrefix(strings.TrimPrefix(origin, "http://"), "https://")
		if !h.acceptedHost(host) {
			return fmt.Sprintf("Forbidden: Origin %q is not allowed.", origin)
		}
	}
	return ""
}

func (h *Host) acceptedHost(hostport string) bool {
	if strings.EqualFold(hostport, h.publicHost) {
		return true
	}
	host := hostport
	if hst, _, err := net.SplitHostPort(hostport); err == nil {
		host = hst
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func isLoopbackAddr(s string) bool {
	a := ratelimit.ParseAddr(s)
	return a.IsValid() && a.IsLoopback()
}

// satMul multiplies without overflowing.
func satMul(a, b int) int {
	if a > math.MaxInt/b {
		return math.MaxInt
	}
	return a * b
}
