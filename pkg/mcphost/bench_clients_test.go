package mcphost_test

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkConcurrentPath measures the two servers of BenchmarkHTTPPath,
// a native go-sdk echo and Kiln's on a snapshot-restored instance with
// SQLite, under four clients at once: each server in turn gets b.N calls
// from four clients, in four rounds (native, Kiln, native, Kiln, ...), after
// a garbage collection each. It reports calls per second and the process's
// CPU time per call (clients included) of each, and their ratio, the
// calls/s row of BenchmarkIsolation without its other servers, so with
// fewer turns and longer ones:
//
//	go test ./pkg/mcphost -run '^$' -bench ConcurrentPath -benchtime 4000x
func BenchmarkConcurrentPath(b *testing.B) {
	e, err := sandbox.NewEngine(context.Background(), sandbox.Config{NoInterpreter: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(context.Background()) })
	args := map[string]any{"text": "hello, benchmark"}
	env := newEnv(b, storetest.SQLite(b), envOptions{ipLimit: 1 << 30, engine: e})
	srv := env.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(b)})
	sessions := []*mcp.ClientSession{connect(b, nativeServer(b), ""), connect(b, env.url(srv.ID), srv.key)}
	call := func(s *mcp.ClientSession) {
		res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: args})
		if err != nil || res.IsError {
			b.Errorf("echo: %v %+v", err, res)
		}
	}
	for _, s := range sessions {
		for range 50 { // warm up, four instances of the module among them
			four(func() { call(s) }, 4)
		}
	}
	var wall, cpu [2]time.Duration
	b.ResetTimer()
	for range 4 {
		for i, s := range sessions {
			runtime.GC()
			c0, w0 := processCPUTime(b), time.Now()
			four(func() { call(s) }, b.N/16)
			wall[i] += time.Since(w0)
			cpu[i] += processCPUTime(b) - c0
		}
	}
	b.StopTimer()
	calls := float64(b.N / 16 * 16)
	cps := func(i int) float64 { return calls / wall[i].Seconds() }
	b.ReportMetric(cps(0), "native-calls/s")
	b.ReportMetric(cps(1), "kiln-calls/s")
	b.ReportMetric(cps(1)/cps(0), "calls/s-ratio")
	b.ReportMetric(float64(cpu[0].Microseconds())/calls, "native-cpu-µs/call")
	b.ReportMetric(float64(cpu[1].Microseconds())/calls, "kiln-cpu-µs/call")
	b.ReportMetric(0, "ns/op")
}

// four runs f n times on each of four goroutines.
func four(f func(), n int) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range n {
				f()
			}
		})
	}
	wg.Wait()
}

// processCPUTime is the CPU time the process has used, user and system.
func processCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
