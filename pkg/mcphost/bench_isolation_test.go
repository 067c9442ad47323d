package mcphost_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/bench/mcpload"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
)

// BenchmarkIsolation compares, in one run, MCP tools/call over HTTP on
// 127.0.0.1 of (a) a native go-sdk server with the tool as a Go function,
// (c) Kiln running every call on a fresh instance
// (sandbox.Config.FreshInstances) and (d) Kiln running calls on warm
// instances restored from a snapshot (the default), on SQLite and, when
// KILN_TEST_DATABASE_URL is set, on PostgreSQL; the tool is a trivial echo.
// Then the real library tool convert_units: (e) its Go source compiled
// natively behind a go-sdk server (bench_native_units_test.go) and (f) the
// library module in Kiln. Engines compile before the first call
// (NoInterpreter), so the numbers are of the steady state. Each server gets
// b.N sequential calls from one client, then four clients for a second.
// With KILN_BENCH_RESULTS set, it writes a Markdown table of the numbers
// and ratios to that file (Taskfile task bench-isolation):
//
//	go test ./pkg/mcphost -run '^$' -bench Isolation -benchtime 400x
func BenchmarkIsolation(b *testing.B) {
	engine := func(cfg sandbox.Config) *sandbox.Engine {
		cfg.NoInterpreter = true
		e, err := sandbox.NewEngine(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close(context.Background()) })
		return e
	}
	fresh, warm := engine(sandbox.Config{FreshInstances: true}), engine(sandbox.Config{})
	echoArgs := map[string]any{"text": "hello, benchmark"}
	kiln := func(name string, s *store.Store, e *sandbox.Engine, spec toolSpec, args map[string]any, base int) mcpload.Target {
		env := newEnv(b, s, envOptions{ipLimit: 1 << 30, engine: e})
		srv := env.addServer(bigPlan.Name, spec)
		return mcpload.Target{Name: name, Tool: spec.name, Args: args, Session: connect(b, env.url(srv.ID), srv.key), Base: base}
	}
	echo := toolSpec{"echo", "echo", toolsModule(b)}
	targets := []mcpload.Target{
		{Name: "(a) native go-sdk, echo", Tool: "echo", Args: echoArgs, Session: connect(b, nativeServer(b), ""), Base: 0},
		kiln("(c) Kiln, fresh instance per call, SQLite", storetest.SQLite(b), fresh, echo, echoArgs, 0),
		kiln("(d) Kiln, snapshot-restore, SQLite", storetest.SQLite(b), warm, echo, echoArgs, 0),
	}
	if pg, ok := storetest.Postgres(b); ok {
		targets = append(targets, kiln("(d) Kiln, snapshot-restore, PostgreSQL", pg, warm, echo, echoArgs, 0))
	}
	convert := map[string]any{"value": 12.5, "from": "mi", "to": "km"}
	units := toolSpec{"convert_units", "convert_units", builds.Go(b, "toolkits/library/units")}
	targets = append(targets, mcpload.Target{Name: "(e) native go-sdk, convert_units", Tool: "convert_units", Args: convert,
		Session: connect(b, nativeUnitsServer(b), ""), Base: len(targets)})
	targets = append(targets, kiln("(f) Kiln, snapshot-restore, SQLite, convert_units", storetest.SQLite(b), warm, units, convert, len(targets)-1))

	b.ResetTimer()
	results, err := mcpload.Run(context.Background(), targets, mcpload.Options{Calls: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.Logf("warm pools: %+v", warm.WarmStats())
	for i, m := range results {
		tag := strings.Trim(strings.Fields(m.Name)[0], "()")
		if strings.Contains(m.Name, "PostgreSQL") {
			tag += "-pg"
		}
		b.ReportMetric(float64(m.P50.Microseconds()), tag+"-p50-µs")
		if base := results[m.Base]; m.Base != i {
			b.ReportMetric(float64(m.P50)/float64(base.P50), tag+"-p50-ratio")
			b.ReportMetric(m.CPSN/base.CPSN, tag+"-cps4-ratio")
		}
	}
	b.ReportMetric(0, "ns/op")
	if path := os.Getenv("KILN_BENCH_RESULTS"); path != "" {
		if err := os.WriteFile(path, []byte(resultsTable(results, b.N)), 0o644); err != nil {
			b.Fatal(err)
		}
		svg := mcpload.Chart("Kiln vs native go-sdk: MCP tools/call over HTTP, "+time.Now().UTC().Format("2006-01-02"), results)
		if err := os.WriteFile(strings.TrimSuffix(path, ".md")+".svg", svg, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func resultsTable(results []mcpload.Result, n int) string {
	return fmt.Sprintf("# MCP tools/call over HTTP (one run)\n\n"+
		"`go test ./pkg/mcphost -run '^$' -bench Isolation -benchtime %dx` on %s; %d sequential calls per server and 4 clients for 1 s, the servers taking turns in 20 rounds of a twentieth of each (after a garbage collection). "+
		"Each Kiln row is compared with the native row of the same tool. Extism's Go SDK is measured by `task bench-extism` (results-extism.md).\n\n%s",
		n, time.Now().UTC().Format("2006-01-02"), n, mcpload.Table(results))
}
