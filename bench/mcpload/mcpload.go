// Package mcpload measures MCP tools/call over HTTP the way Kiln's
// benchmarks report it: per target, sequential calls from one client (p50,
// p99, calls per second), then several clients at once for a fixed window,
// and each target's ratios against a baseline measured in the same run.
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

// Run measures every target in turn, in one run, so that the ratios
// compare numbers taken on the same machine at nearly the same time. A
// failed call or a tool error ends the run with an error: a benchmark of
// failing calls measures nothing.
func Run(ctx context.Context, targets []Target, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	results := make([]Result, 0, len(targets))
	for _, t := range targets {
		if t.Base < 0 || t.Base >= len(targets) {
			return nil, fmt.Errorf("%s: base %d is not a target", t.Name, t.Base)
		}
		for range opts.WarmUp {
			if _, err := call(ctx, t); err != nil {
				return nil, err
			}
		}
		lat := make([]time.Duration, 0, opts.Calls)
		start := time.Now()
		for range opts.Calls {
			d, err := call(ctx, t)
			if err != nil {
				return nil, err
			}
			lat = append(lat, d)
		}
		r := Result{Name: t.Name, Base: t.Base, Clients: opts.Clients, Calls: opts.Calls}
		r.CPS1 = float64(opts.Calls) / time.Since(start).Seconds()
		r.P50, r.P99 = percentiles(lat)
		var err error
		if r.P50N, r.P99N, r.CPSN, err = concurrent(ctx, t, opts.Clients, opts.Window); err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	return results, nil
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

// concurrent runs clients for window and returns their latencies'
// percentiles and the calls per second.
func concurrent(ctx context.Context, t Target, clients int, window time.Duration) (p50, p99 time.Duration, cps float64, err error) {
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs []error
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(window)
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
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
		return 0, 0, 0, errs[0]
	}
	if len(lat) == 0 {
		return 0, 0, 0, fmt.Errorf("%s: no call completed in %v", t.Name, window)
	}
	p50, p99 = percentiles(lat)
	return p50, p99, float64(len(lat)) / time.Since(start).Seconds(), nil
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
