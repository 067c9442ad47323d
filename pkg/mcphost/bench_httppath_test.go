package mcphost_test

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/bench/mcpload"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
)

// BenchmarkHTTPPath measures only the two rows of BenchmarkIsolation the
// HTTP-path work targets, (a) native go-sdk echo and (d) Kiln
// snapshot-restore on SQLite, so that a CPU or allocation profile of it
// is not diluted by fresh instances, PostgreSQL or convert_units:
//
//	go test ./pkg/mcphost -run '^$' -bench HTTPPath -benchtime 2000x -cpuprofile cpu.out
func BenchmarkHTTPPath(b *testing.B) {
	e, err := sandbox.NewEngine(context.Background(), sandbox.Config{NoInterpreter: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(context.Background()) })
	args := map[string]any{"text": "hello, benchmark"}
	env := newEnv(b, storetest.SQLite(b), envOptions{ipLimit: 1 << 30, engine: e})
	srv := env.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(b)})
	targets := []mcpload.Target{
		{Name: "(a) native", Tool: "echo", Args: args, Session: connect(b, nativeServer(b), "")},
		{Name: "(d) kiln", Tool: "echo", Args: args, Session: connect(b, env.url(srv.ID), srv.key)},
	}
	b.ResetTimer()
	results, err := mcpload.Run(context.Background(), targets, mcpload.Options{Calls: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(results[0].P50.Microseconds()), "a-p50-µs")
	b.ReportMetric(float64(results[1].P50.Microseconds()), "d-p50-µs")
	b.ReportMetric(float64(results[1].P50)/float64(results[0].P50), "d-p50-ratio")
	b.ReportMetric(results[1].CPSN/results[0].CPSN, "d-cps4-ratio")
	b.ReportMetric(0, "ns/op")
}
