package mcpload

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestRunTakesTurns: every target is warmed up, then the targets take
// turns (a, b, a, b, ...), once per round, and each gets numbers from
// both phases.
func TestRunTakesTurns(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var served []string // which target served each call, in order
	target := func(name string, base int) Target {
		s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
		mcp.AddTool(s, &mcp.Tool{Name: "echo"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			mu.Lock()
			served = append(served, name)
			mu.Unlock()
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name}}}, nil, nil
		})
		st, ct := mcp.NewInMemoryTransports()
		if _, err := s.Connect(ctx, st, nil); err != nil {
			t.Fatal(err)
		}
		session, err := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "1"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { session.Close() })
		return Target{Name: name, Tool: "echo", Session: session, Base: base}
	}
	results, err := Run(ctx, []Target{target("a", 0), target("b", 0)},
		Options{Calls: 6, WarmUp: 1, Rounds: 3, Window: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Warm-ups, then three rounds, each target's turn one run of calls.
	if turns := slices.Compact(slices.Clone(served)); !slices.Equal(turns, []string{"a", "b", "a", "b", "a", "b", "a", "b"}) {
		t.Fatalf("turns %v", turns)
	}
	for i, r := range results {
		if r.Name != []string{"a", "b"}[i] || r.Base != 0 || r.Calls != 6 || r.P50 <= 0 || r.CPS1 <= 0 || r.P50N <= 0 || r.CPSN <= 0 {
			t.Errorf("result %+v", r)
		}
	}
	// Calls that the rounds do not divide, and fewer calls than rounds:
	// every call asked for is made, and a turn too short for any call
	// still makes one.
	for _, c := range []struct{ calls, rounds int }{{7, 3}, {2, 4}} {
		results, err := Run(ctx, []Target{target("a", 0)}, Options{Calls: c.calls, Rounds: c.rounds, Window: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		if r := results[0]; r.Calls != c.calls || r.CPSN <= 0 {
			t.Errorf("%d calls in %d rounds: %+v", c.calls, c.rounds, r)
		}
	}
}
