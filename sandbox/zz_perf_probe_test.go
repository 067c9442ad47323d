package sandbox_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/kilnhq/kiln/sandbox"
)

func TestPerfProbe(t *testing.T) {
	copyNext := false
	for _, skip := range []bool{false, true, false} {
		copyRestore := !skip && copyNext
		copyNext = true

		wasm := isolation(t)
		e := newEngine(t, sandbox.Config{CopyRestore: copyRestore})
		m := load(t, e, wasm)
		e.SkipRestore(skip)
		req := sandbox.Request{Tool: "echo", Args: []byte(`{"text":"hello"}`), Limits: limits()}
		var wall, inner, settle []time.Duration
		var fuelUsed, peak uint64
		for i := 0; i < 2000; i++ {
			start := time.Now()
			res, err := e.Call(context.Background(), m, req)
			wall = append(wall, time.Since(start))
			if err != nil || res.Outcome != sandbox.OutcomeOK {
				t.Fatal(err, res.Detail)
			}
			inner = append(inner, res.Duration)
			fuelUsed, peak = res.FuelUsed, res.PeakMemory
			st := time.Now()
			e.Settle()
			settle = append(settle, time.Since(st))
		}
		sort.Slice(wall, func(i, j int) bool { return wall[i] < wall[j] })
		sort.Slice(inner, func(i, j int) bool { return inner[i] < inner[j] })
		sort.Slice(settle, func(i, j int) bool { return settle[i] < settle[j] })
		t.Logf("skip %v copy %v settle", skip, copyRestore)
		t.Logf("settle p50 %v p10 %v", settle[1000], settle[200])
		t.Logf("wall p50 %v p10 %v; guest p50 %v p10 %v; fuel %d; peak %d; %+v", wall[1000], wall[200], inner[1000], inner[200], fuelUsed, peak, e.WarmStats())
	}
}
