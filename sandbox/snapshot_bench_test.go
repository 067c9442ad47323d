package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/sandbox"
)

// BenchmarkWarmCall measures Engine.Call of a trivial Go tool (echo) in
// process: "warm" on an instance restored from a snapshot (the restore runs
// after the call returns, off its latency, and the loop waits for it, as a
// request arriving a little later would find it done); "warm-copy-restore" the same with restores copying all of
// memory (Config.CopyRestore); "warm-back-to-back" the next call at once,
// so it waits for the restore; "fresh" on a new instance per call. call-µs
// is the median call, timed around Engine.Call alone, guest-µs the median
// time inside the module (Usage.Duration; the rest is the host's share)
// (ns/op of the settled
// cases counts the wait for the restore too); restore-µs the median wait
// for the restore after the call.
func BenchmarkWarmCall(b *testing.B) {
	wasm := isolation(b)
	for _, tc := range []struct {
		name   string
		cfg    sandbox.Config
		settle bool
	}{
		{"warm", sandbox.Config{}, true},
		{"warm-copy-restore", sandbox.Config{CopyRestore: true}, true},
		{"warm-back-to-back", sandbox.Config{}, false},
		{"fresh", sandbox.Config{FreshInstances: true}, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEngine(b, tc.cfg)
			m := load(b, e, wasm)
			req := sandbox.Request{Tool: "echo", Args: []byte(`{"text":"hello"}`), Limits: limits()}
			var calls, runs, restores []time.Duration
			for b.Loop() {
				start := time.Now()
				res, err := e.Call(context.Background(), m, req)
				calls = append(calls, time.Since(start))
				runs = append(runs, res.Usage.Duration)
				if err != nil || res.Outcome != sandbox.OutcomeOK {
					b.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
				}
				if tc.settle {
					start = time.Now()
					e.Settle()
					restores = append(restores, time.Since(start))
				}
			}
			b.StopTimer()
			e.Settle()
			b.ReportMetric(median(calls), "call-µs")
			b.ReportMetric(median(runs), "guest-µs")
			if len(restores) > 0 {
				b.ReportMetric(median(restores), "restore-µs")
			}
			st := e.WarmStats()
			b.ReportMetric(float64(st.Restored), "restored")
			b.ReportMetric(float64(st.Cloned), "cloned")
			b.ReportMetric(float64(st.Discarded), "discarded")
		})
	}
}

// median in microseconds.
func median(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Nanoseconds()) / 1e3
}

// BenchmarkCallFuel reports the fuel (instructions, sandbox/fuel) and the
// guest time of one warm call, and the instance's memory, of a trivial Go tool whose result is a
// string (echo) and of one whose result is a struct of the common shape
// (echo_struct, structured content and its text), with short and long
// texts. Fuel does not depend on the machine's load, so it compares runs
// made at different times.
func BenchmarkCallFuel(b *testing.B) {
	wasm := isolation(b)
	for _, tool := range []string{"echo", "echo_struct"} {
		for _, n := range []int{5, 1000} {
			b.Run(fmt.Sprintf("%s-%d", tool, n), func(b *testing.B) {
				e := newEngine(b, sandbox.Config{})
				m := load(b, e, wasm)
				args, _ := json.Marshal(map[string]string{"text": strings.Repeat("a", n)})
				req := sandbox.Request{Tool: tool, Args: args, Limits: limits()}
				var fuel, memory uint64
				var runs []time.Duration
				for b.Loop() {
					res, err := e.Call(context.Background(), m, req)
					if err != nil || res.Outcome != sandbox.OutcomeOK {
						b.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
					}
					fuel, memory = res.FuelUsed, res.PeakMemory
					runs = append(runs, res.Usage.Duration)
					e.Settle()
				}
				b.ReportMetric(float64(fuel), "fuel")
				b.ReportMetric(median(runs), "guest-µs")
				b.ReportMetric(float64(memory)/(1<<20), "memory-MiB")
			})
		}
	}
}
