package sandbox_test

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
)

// BenchmarkRecording measures warm calls of a small Go tool that reads the
// clock and random bytes (its runtime reads the clock more), without a
// recording ("off", every server that does not record payloads) and with
// one ("on"), in the same run: the ratio is what recording costs, and
// "off" against BenchmarkWarmCall/warm of the commit before recording
// existed is what its hooks cost everyone else.
func BenchmarkRecording(b *testing.B) {
	wasm := replayFixture(b)
	// Alternating, twice: on a shared machine the first to run is often
	// the slower.
	for _, on := range []bool{false, true, false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, sandbox.Config{})
			m := load(b, e, wasm)
			reads := 0
			for b.Loop() {
				req := sandbox.Request{Tool: "clock", Args: []byte(`{}`), Limits: limits()}
				if on {
					req.Record = sandbox.NewRecording(1 << 20)
				}
				res, err := e.Call(context.Background(), m, req)
				if err != nil || res.Outcome != sandbox.OutcomeOK {
					b.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
				}
				if on {
					reads = len(req.Record.Reads)
				}
				b.StopTimer()
				e.Settle()
				b.StartTimer()
			}
			b.ReportMetric(float64(reads), "reads/call")
		})
	}
}
