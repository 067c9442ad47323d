package mcphost_test

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

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
	sessions := nativeAndKiln(b)
	call := func(s *mcp.ClientSession) {
		if err := callEcho(s); err != nil {
			b.Error(err)
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
