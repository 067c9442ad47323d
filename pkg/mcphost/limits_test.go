package mcphost_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/pkg/tier"
)

// slowPlan allows two tool calls a minute (and eight requests per server).
var slowPlan = tier.Plan{Name: "slow-test", Rank: 8, ServersPerCustomer: 50, ToolsPerServer: 50,
	Fuel: 1 << 40, MemoryBytes: 64 << 20, Timeout: 30 * time.Second, OutputBytes: 1 << 20, CallsPerMinute: 2}

func callBody(id int) string {
	return `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`
}

func expect429(t *testing.T, resp *http.Response, says string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 60 || !strings.Contains(string(body), says) {
		t.Fatalf("want 429 with Retry-After saying %q: %d %q %s", says, resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func expectOK(t *testing.T, resp *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("want 200: %d %s", resp.StatusCode, body)
	}
}

// TestRateLimits: per customer (tool calls, from the plan), per server
// (all requests) and per client IP, in process and shared through Redis.
func TestRateLimits(t *testing.T) {
	for _, mode := range []string{"local", "redis"} {
		t.Run(mode, func(t *testing.T) {
			limiter := func() ratelimit.Limiter { return ratelimit.NewLocal() }
			if mode == "redis" {
				rc := testmodules.Redis(t, nil)
				// Both hosts below share one Redis: one set of counters,
				// under a prefix no other run or package uses (no FLUSHDB:
				// other packages' tests may be using the same Redis).
				prefix := fmt.Sprintf("kiln-test:%s:%d:", t.Name(), time.Now().UnixNano())
				shared := ratelimit.NewRedis(rc, ratelimit.RedisOptions{Prefix: prefix})
				limiter = func() ratelimit.Limiter { return shared }
			}
			s := storetest.SQLite(t)
			e := newEnv(t, s, envOptions{limiter: limiter()})
			// A second node on the same store: with Redis it shares the
			// counters, in process it has its own.
			e2 := newEnv(t, s, envOptions{limiter: limiter()})
			if err := e.catalog.SetPlan(context.Background(), slowPlan); err != nil {
				t.Fatal(err)
			}
			srv := e.addServer(slowPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
			other := e.addServerFor(srv.CustomerID, toolSpec{"echo", "echo", toolsModule(t)})

			// With Redis the second node shares the counters; in process
			// it would have its own, so the local run stays on one node.
			node := e
			if mode == "redis" {
				node = e2
			}
			expectOK(t, rawPost(t, e.url(srv.ID), srv.key, callBody(1)))
			expectOK(t, rawPost(t, node.url(other.ID), other.key, callBody(2)))
			// The customer's two calls a minute are spent, on any server.
			expect429(t, rawPost(t, e.url(other.ID), other.key, callBody(3)), "the slow-test plan allows 2 tool calls a minute per customer")
			expect429(t, rawPost(t, node.url(srv.ID), srv.key, callBody(4)), "2 tool calls a minute per customer")
			// Other requests count against the server's budget of 8 only
			// (refused calls did not count).
			for i := range 7 {
				expectOK(t, rawPost(t, []*env{e, node}[i%2].url(srv.ID), srv.key, listBody(10+i)))
			}
			expect429(t, rawPost(t, node.url(srv.ID), srv.key, listBody(20)), "8 MCP requests a minute per server")

			// Executions were recorded only for the calls that ran.
			n := len(e.executions(srv)) + len(e.executions(other))
			if n != 2 {
				t.Fatalf("%d executions, want 2", n)
			}
		})
	}
}

// TestIPLimit: requests from one address are limited before their key is
// even looked at.
func TestIPLimit(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{ipLimit: 3})
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	for i := range 3 {
		expectOK(t, rawPost(t, e.url(srv.ID), srv.key, listBody(i)))
	}
	expect429(t, rawPost(t, e.url(srv.ID), "", listBody(9)), "Too many requests from 127.0.0.1: at most 3 a minute")
}
