package mcphost_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkHTTPPath measures the two rows of BenchmarkIsolation that the
// HTTP-path work targets, a native go-sdk echo and Kiln's echo on a
// snapshot-restored instance with SQLite, with their calls interleaved
// (native, Kiln, native, ...) so that the load of a shared machine weighs
// on both alike; BenchmarkIsolation measures one target after the other.
// Only these two servers run, so a CPU or allocation profile of it is not
// diluted by fresh instances, PostgreSQL or convert_units:
//
//	go test ./pkg/mcphost -run '^$' -bench HTTPPath -benchtime 2000x -cpuprofile cpu.out
func BenchmarkHTTPPath(b *testing.B) {
	sessions := nativeAndKiln(b)
	call := func(s *mcp.ClientSession) time.Duration {
		start := time.Now()
		if err := callEcho(s); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for range 20 { // warm up
		call(sessions[0])
		call(sessions[1])
	}
	var native, kiln, ratio []float64
	b.ResetTimer()
	for range b.N {
		n, k := call(sessions[0]), call(sessions[1])
		native, kiln = append(native, float64(n.Microseconds())), append(kiln, float64(k.Microseconds()))
		ratio = append(ratio, float64(k)/float64(n))
	}
	b.StopTimer()
	med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	nm, km := med(native), med(kiln)
	b.ReportMetric(nm, "native-p50-µs")
	b.ReportMetric(km, "kiln-p50-µs")
	b.ReportMetric(km/nm, "p50-ratio")
	b.ReportMetric(med(ratio), "pair-ratio-p50")
	b.ReportMetric(0, "ns/op")
}

// nativeAndKiln connects to the two servers the path benchmarks compare:
// a native go-sdk echo, and Kiln's echo on a snapshot-restored instance
// with SQLite, compiled before the first call.
func nativeAndKiln(b *testing.B) []*mcp.ClientSession {
	e, err := sandbox.NewEngine(context.Background(), sandbox.Config{NoInterpreter: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(context.Background()) })
	env := newEnv(b, storetest.SQLite(b), envOptions{ipLimit: 1 << 30, engine: e})
	srv := env.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(b)})
	return []*mcp.ClientSession{connect(b, nativeServer(b), ""), connect(b, env.url(srv.ID), srv.key)}
}

// callEcho makes one echo call of the path benchmarks.
func callEcho(s *mcp.ClientSession) error {
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hello, benchmark"}})
	if err != nil || res.IsError {
		return fmt.Errorf("echo: %v %+v", err, res)
	}
	return nil
}
