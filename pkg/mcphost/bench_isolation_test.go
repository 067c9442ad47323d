package mcphost_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
)

// measured is one server's numbers in BenchmarkIsolation.
type measured struct {
	name         string
	p50, p99     time.Duration // one client, sequential calls
	cps1         float64       // calls per second, one client
	p50x4, p99x4 time.Duration // four clients at once
	cps4         float64
}

// BenchmarkIsolation compares, in one run, MCP tools/call of a trivial
// tool (echo) over HTTP on 127.0.0.1: (a) a native go-sdk server with the
// tool as a Go function, (c) Kiln running every call on a fresh instance
// (sandbox.Config.FreshInstances) and (d) Kiln running calls on warm
// instances restored from a snapshot (the default). Each gets b.N
// sequential calls from one client, then four clients for a second. With
// KILN_BENCH_RESULTS set, it writes a Markdown table of the numbers and
// ratios to that file (Taskfile task bench-isolation writes
// bench/results.md):
//
//	go test ./pkg/mcphost -run '^$' -bench Isolation -benchtime 400x
func BenchmarkIsolation(b *testing.B) {
	fresh, err := sandbox.NewEngine(context.Background(), sandbox.Config{FreshInstances: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fresh.Close(context.Background()) })
	warm, err := sandbox.NewEngine(context.Background(), sandbox.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { warm.Close(context.Background()) })
	sessions := []struct {
		name string
		s    *mcp.ClientSession
	}{{"(a) native go-sdk", connect(b, nativeServer(b), "")}}
	for _, k := range []struct {
		name   string
		engine *sandbox.Engine
	}{{"(c) Kiln, fresh instance per call", fresh}, {"(d) Kiln, snapshot-restore", warm}} {
		e := newEnv(b, storetest.SQLite(b), envOptions{ipLimit: 1 << 30, engine: k.engine})
		srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(b)})
		sessions = append(sessions, struct {
			name string
			s    *mcp.ClientSession
		}{k.name, connect(b, e.url(srv.ID), srv.key)})
	}
	args := map[string]any{"text": "hello, benchmark"}
	var results []measured
	b.ResetTimer()
	for _, s := range sessions {
		for range 20 { // warm up: compile caches, connections, warm pools
			callTimed(b, s.s, args)
		}
		m := measured{name: s.name}
		lat := make([]time.Duration, 0, b.N)
		start := time.Now()
		for range b.N {
			lat = append(lat, callTimed(b, s.s, args))
		}
		m.cps1 = float64(b.N) / time.Since(start).Seconds()
		m.p50, m.p99 = percentiles(lat)
		m.p50x4, m.p99x4, m.cps4 = concurrent(b, s.s, args, 4, time.Second)
		results = append(results, m)
	}
	b.StopTimer()
	native := results[0]
	for _, m := range results[1:] {
		tag := strings.Fields(m.name)[0]
		b.ReportMetric(float64(m.p50)/float64(native.p50), tag+"-p50-ratio")
		b.ReportMetric(m.cps4/native.cps4, tag+"-cps4-ratio")
	}
	for _, m := range results {
		tag := strings.Fields(m.name)[0]
		b.ReportMetric(float64(m.p50.Microseconds()), tag+"-p50-µs")
	}
	b.ReportMetric(0, "ns/op")
	if path := os.Getenv("KILN_BENCH_RESULTS"); path != "" {
		if err := os.WriteFile(path, []byte(resultsTable(results, b.N)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func callTimed(b *testing.B, s *mcp.ClientSession, args map[string]any) time.Duration {
	start := time.Now()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: args})
	if err != nil || res.IsError {
		b.Fatalf("call: %v %v", err, res)
	}
	return time.Since(start)
}

// concurrent runs clients for window and returns their latencies'
// percentiles and the calls per second.
func concurrent(b *testing.B, s *mcp.ClientSession, args map[string]any, clients int, window time.Duration) (p50, p99 time.Duration, cps float64) {
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(window)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: args})
				if err != nil || res.IsError {
					b.Errorf("call: %v %v", err, res)
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		b.Fatal("no calls completed")
	}
	p50, p99 = percentiles(lat)
	return p50, p99, float64(len(lat)) / time.Since(start).Seconds()
}

func resultsTable(results []measured, n int) string {
	var sb strings.Builder
	native := results[0]
	fmt.Fprintf(&sb, "# MCP tools/call of a trivial tool over HTTP (one run)\n\n")
	fmt.Fprintf(&sb, "`go test ./pkg/mcphost -run '^$' -bench Isolation -benchtime %dx` on %s; %d sequential calls per server, then 4 clients for 1 s.\n\n", n, time.Now().UTC().Format("2006-01-02"), n)
	fmt.Fprintf(&sb, "| server | p50 | p99 | calls/s (1 client) | p50 (4 clients) | p99 (4 clients) | calls/s (4 clients) | p50 / native | calls/s (4) / native |\n")
	fmt.Fprintf(&sb, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, m := range results {
		fmt.Fprintf(&sb, "| %s | %s | %s | %.0f | %s | %s | %.0f | %.2f× | %.2f× |\n", m.name,
			us(m.p50), us(m.p99), m.cps1, us(m.p50x4), us(m.p99x4), m.cps4,
			float64(m.p50)/float64(native.p50), m.cps4/native.cps4)
	}
	sb.WriteString("\n(b) Extism's Go SDK: not measured (see bench/README.md).\n")
	return sb.String()
}

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }
