package sandbox_test

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
)

// BenchmarkWarmCall measures Engine.Call of a trivial Go tool (echo) in
// process: "warm" on an instance restored from a snapshot, timing the call
// only (the restore runs after the call returns, off its latency, and the
// loop waits for it untimed, as a request arriving a little later would
// find it done); "warm-back-to-back" the next call at once, so it waits for
// the restore; "fresh" on a new instance per call.
func BenchmarkWarmCall(b *testing.B) {
	wasm := isolation(b)
	for _, tc := range []struct {
		name   string
		fresh  bool
		settle bool
	}{{"warm", false, true}, {"warm-back-to-back", false, false}, {"fresh", true, false}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEngine(b, sandbox.Config{FreshInstances: tc.fresh})
			m := load(b, e, wasm)
			req := sandbox.Request{Tool: "echo", Args: []byte(`{"text":"hello"}`), Limits: limits()}
			for b.Loop() {
				res, err := e.Call(context.Background(), m, req)
				if err != nil || res.Outcome != sandbox.OutcomeOK {
					b.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
				}
				if tc.settle {
					b.StopTimer()
					e.Settle()
					b.StartTimer()
				}
			}
			b.StopTimer()
			e.Settle()
			st := e.WarmStats()
			b.ReportMetric(float64(st.Restored), "restored")
			b.ReportMetric(float64(st.Cloned), "cloned")
			b.ReportMetric(float64(st.Discarded), "discarded")
		})
	}
}
