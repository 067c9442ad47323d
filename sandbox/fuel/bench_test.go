package fuel_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// BenchmarkMeteringOverhead runs CPU-bound Go guests three ways in every
// iteration, interleaved so that machine noise hits all alike:
//
//	raw          the module as built, no limits at all (the baseline)
//	metered      instrumented, with a fuel budget and a deadline checked by refuel
//	closeondone  raw, on a runtime with WithCloseOnContextDone and a deadline
//
// It reports each variant's time as a ratio to raw, per guest and as the
// geometric mean over guests. Run with: go test ./sandbox/fuel -run X -bench Metering
func BenchmarkMeteringOverhead(b *testing.B) {
	guests := []struct{ name, tool, args string }{
		{"json", "json", `{"rounds":20}`},
		{"hash", "hash", `{"rounds":10}`},
		{"sort", "sort", `{"rounds":10}`},
	}
	wasm := builds.Go(b, "sandbox/testdata/cpu")
	plain := newGuestRuntime(b, false)
	closing := newGuestRuntime(b, true)
	variants := []struct {
		name string
		rt   *guestRuntime
		mod  wazero.CompiledModule
		acct bool
	}{
		{"raw", plain, plain.compile(b, wasm), false},
		{"metered", plain, plain.compile(b, instrument(b, wasm)), true},
		{"closeondone", closing, closing.compile(b, wasm), false},
	}
	elapsed := make([][]time.Duration, len(guests)) // [guest][variant]
	for i := range elapsed {
		elapsed[i] = make([]time.Duration, len(variants))
	}
	round := 0
	for b.Loop() {
		round++
		for gi, g := range guests {
			// Rotate which variant goes first, so none always runs on a
			// cache warmed (or cooled) by another.
			for n := range variants {
				vi := (n + round) % len(variants)
				v := variants[vi]
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				var acct *account
				if v.acct {
					acct = &account{budget: 1 << 50, deadline: time.Now().Add(time.Minute)}
				}
				start := time.Now()
				_, _, err := v.rt.call(ctx, v.mod, g.tool, g.args, acct)
				elapsed[gi][vi] += time.Since(start)
				cancel()
				if err != nil {
					b.Fatalf("%s/%s: %v", g.name, v.name, err)
				}
			}
		}
	}
	for vi := 1; vi < len(variants); vi++ {
		logSum := 0.0
		for gi, g := range guests {
			ratio := float64(elapsed[gi][vi]) / float64(elapsed[gi][0])
			logSum += math.Log(ratio)
			b.ReportMetric(ratio, g.name+"-"+variants[vi].name+"/raw")
		}
		b.ReportMetric(math.Exp(logSum/float64(len(guests))), "geomean-"+variants[vi].name+"/raw")
	}
	for gi, g := range guests {
		b.ReportMetric(float64(elapsed[gi][0].Milliseconds())/float64(b.N), g.name+"-raw-ms/call")
	}
}

// BenchmarkInstantiate measures creating (and closing) an instance of a Go
// module, without running it: raw as the Go linker wrote it (tens of
// thousands of data segments) against the rewrite's output (coalesced
// segments), interleaved. It reports metered/raw. Run with:
// go test ./sandbox/fuel -run X -bench Instantiate
func BenchmarkInstantiate(b *testing.B) {
	wasm := builds.Go(b, "sandbox/testdata/cpu")
	g := newGuestRuntime(b, false)
	mods := []wazero.CompiledModule{g.compile(b, wasm), g.compile(b, instrument(b, wasm))}
	var elapsed [2]time.Duration
	ctx := context.Background()
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	round := 0
	for b.Loop() {
		round++
		for n := range mods {
			i := (n + round) % len(mods)
			start := time.Now()
			inst, err := g.rt.InstantiateModule(ctx, mods[i], cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := inst.Close(ctx); err != nil {
				b.Fatal(err)
			}
			elapsed[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(elapsed[1])/float64(elapsed[0]), "metered/raw")
	b.ReportMetric(float64(elapsed[0].Microseconds())/float64(b.N), "raw-µs/op")
	b.ReportMetric(float64(elapsed[1].Microseconds())/float64(b.N), "metered-µs/op")
}
