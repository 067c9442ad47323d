// Package mcpload measures MCP tools/call over HTTP the way Kiln's
// benchmarks report it: per target, sequential calls from one client (p50,
// p99, calls per second), then several clients at once for a fixed window,
// the targets taking turns, and each target's ratios against a baseline
// measured in the same run.
//
// Both the in-repository benchmark (pkg/mcphost, BenchmarkIsolation) and the
// separate Extism module (bench/extism) use it, so their numbers are
// measured the same way:
//
//	results, err := mcpload.Run(ctx, targets, mcpload.Options{Calls: 400})
//	fmt.Print(mcpload.Table(results))
package mcpload

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Target is one server and tool to call.
type Target struct {
	Name    string // the row's label, e.g. "(a) native go-sdk, echo"
	Tool    string
	Args    map[string]any
	Session *mcp.ClientSession
	// Base is the index in the targets of the row this one is compared
	// with; a row compared with itself is a baseline.
	Base int
}

// Options says how much to measure. The zero value means defaults.
type Options struct {
	Calls   int           // sequential calls per target; default 400
	WarmUp  int           // calls before measuring; default 20
	Clients int           // concurrent clients in the second phase; default 4
	Window  time.Duration // how long the concurrent phase runs; default 1 s
	// Rounds splits each target's calls and window into turns taken in
	// rotation with the other targets' (a, b, c, a, b, c, ...), so that the
	// load swings of a shared machine weigh on every target alike; default
	// 20, at most Calls. With 4, on a two-core VM, the native server's p50
	// moved between 250 and 470 µs from one turn to the next, and the Kiln
	// echo's ratio between 1.05 and 1.45 from run to run; with 20, the
	// same runs gave 1.22–1.35 (bench/results.md, seventh session).
	Rounds int
}

func (o Options) withDefaults() Options {
	if o.Calls <= 0 {
		o.Calls = 400
	}
	if o.WarmUp <= 0 {
		o.WarmUp = 20
	}
	if o.Clients <= 0 {
		o.Clients = 4
	}
	if o.Window <= 0 {
		o.Window = time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 20
	}
	o.Rounds = min(o.Rounds, o.Calls)
	return o
}

// Result is one target's numbers.
type Result struct {
	Name           string
	Base           int
	P50, P99       time.Duration // one client, sequential calls
	CPS1           float64       // calls per second, one client
	P50N, P99N     time.Duration // several clients at once
	CPSN           float64
	Clients, Calls int
}

// Run measures every target in one run, so that the ratios compare
// numbers taken on the same machine at nearly the same time: each target
// is warmed up, then the targets take turns (Options.Rounds), each turn a
// share of the sequential calls and of the concurrent window, after a
// garbage collection, so that no turn pays for the garbage the one before
// it left (the servers and clients share one process). A failed call or a
// tool error ends the run with an error: a benchmark of failing calls
// measures nothing.
func Run(ctx context.Context, targets []Target, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	for _, t := range targets {
		if t.Base < 0 || t.Base >= len(targets) {
			return nil, fmt.Errorf("%s: base %d is not a target", t.Name, t.Base)
		}
		for range opts.WarmUp {
			if _, err := call(ctx, t); err != nil {
				return nil, err
			}
		}
	}
	tallies := make([]tally, len(targets))
	for round := range opts.Rounds {
		calls := opts.Calls / opts.Rounds
		if round < opts.Calls%opts.Rounds {
			calls++
		}
		for i, t := range targets {
			runtime.GC()
			if err := tallies[i].turn(ctx, t, calls, opts.Clients, opts.Window/time.Duration(opts.Rounds)); err != nil {
				return nil, err
			}
		}
	}
	results := make([]Result, len(targets))
	for i, t := range targets {
		results[i] = tallies[i].result(t, opts)
	}
	return results, nil
}

// tally is one target's measurements over its turns.
type tally struct {
	seq, conc         []time.Duration // latencies, sequential and concurrent
	seqTime, concTime time.Duration   // how long each phase took in all
}

// turn makes calls sequential calls, then runs clients for window.
func (y *tally) turn(ctx context.Context, t Target, calls, clients int, window time.Duration) error {
	start := time.Now()
	for range calls {
		d, err := call(ctx, t)
		if err != nil {
			return err
		}
		y.seq = append(y.seq, d)
	}
	y.seqTime += time.Since(start)
	start = time.Now()
	lat, err := concurrent(ctx, t, clients, window)
	if err != nil {
		return err
	}
	y.concTime += time.Since(start)
	y.conc = append(y.conc, lat...)
	return nil
}

func (y *tally) result(t Target, opts Options) Result {
	r := Result{Name: t.Name, Base: t.Base, Clients: opts.Clients, Calls: len(y.seq)}
	r.P50, r.P99 = percentiles(y.seq)
	r.CPS1 = float64(len(y.seq)) / y.seqTime.Seconds()
	r.P50N, r.P99N = percentiles(y.conc)
	r.CPSN = float64(len(y.conc)) / y.concTime.Seconds()
	return r
}

// call makes one timed call.
func call(ctx context.Context, t Target) (time.Duration, error) {
	start := time.Now()
	res, err := t.Session.CallTool(ctx, &mcp.CallToolParams{Name: t.Tool, Arguments: t.Args})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", t.Name, err)
	}
	if res.IsError {
		return 0, fmt.Errorf("%s: the tool answered with an error: %v", t.Name, res.Content)
	}
	return time.Since(start), nil
}

// concurrent runs clients for window and returns their latencies.
func concurrent(ctx context.Context, t Target, clients int, window time.Duration) ([]time.Duration, error) {
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs []error
		wg   sync.WaitGroup
	)
	deadline := time.Now().Add(window)
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for len(mine) == 0 || time.Now().Before(deadline) { // one call at least, however late it starts
				d, err := call(ctx, t)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return lat, nil
}

// percentiles returns the 50th and 99th percentiles of lat (which it sorts).
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// Table renders results as a Markdown table with each row's ratios to its
// baseline.
func Table(results []Result) string {
	if len(results) == 0 {
		return ""
	}
	var sb strings.Builder
	n := results[0].Clients
	fmt.Fprintf(&sb, "| server | p50 | p99 | calls/s (1 client) | p50 (%d clients) | p99 (%d clients) | calls/s (%d clients) | p50 / baseline | calls/s (%d) / baseline |\n", n, n, n, n)
	sb.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		base := results[r.Base]
		fmt.Fprintf(&sb, "| %s | %s | %s | %.0f | %s | %s | %.0f | %.2f× | %.2f× |\n", r.Name,
			us(r.P50), us(r.P99), r.CPS1, us(r.P50N), us(r.P99N), r.CPSN,
			float64(r.P50)/float64(base.P50), r.CPSN/base.CPSN)
	}
	return sb.String()
}

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }
