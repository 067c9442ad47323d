package sandbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

// TestHostWorkIsMetered: host functions that work in proportion to an
// argument pay for it, and a call stops at its deadline even inside a run
// of host calls, whose own fuel checks come rarely.
func TestHostWorkIsMetered(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	randloop := load(t, e, wat(t, "randloop"))

	fuelFirst := limits()
	fuelFirst.Fuel = 500_000_000 // three rounds of 16 MiB at 8 units a byte; 5 instructions a round if uncharged
	fuelFirst.Timeout = time.Minute
	res := call(t, e, randloop, "main", `{}`, fuelFirst)
	if res.Outcome != sandbox.OutcomeFuelExhausted {
		t.Fatalf("random_get loop: outcome %v (%s), want fuel exhausted", res.Outcome, res.Detail)
	}

	// With fuel to spare, only the deadline can stop these; without checks
	// in the host functions, the random loop would run for hours.
	deadlineFirst := limits()
	deadlineFirst.Fuel = 1 << 50
	deadlineFirst.Timeout = 200 * time.Millisecond
	for _, name := range []string{"randloop", "clockloop"} {
		res := call(t, e, load(t, e, wat(t, name)), "main", `{}`, deadlineFirst)
		if res.Outcome != sandbox.OutcomeTimeout {
			t.Fatalf("%s: outcome %v (%s), want timeout", name, res.Outcome, res.Detail)
		}
		t.Logf("%s: a 200ms deadline stopped the call after %v", name, res.Duration)
	}
}

// TestTableGrowIsBounded: a table grown in a loop is capped by the
// instrumenter and charged per element; the call ends by its fuel, and the
// process does not balloon (before the cap, this module took gigabytes
// under a 1 MiB memory limit).
func TestTableGrowIsBounded(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "tablegrow"))
	lim := limits()
	lim.Memory = 1 << 20
	lim.Fuel = 50_000_000
	lim.Timeout = time.Minute
	hwm := startHighWaterMark(t)
	res := call(t, e, m, "main", `{}`, lim)
	if res.Outcome != sandbox.OutcomeFuelExhausted {
		t.Fatalf("outcome %v (%s), want fuel exhausted", res.Outcome, res.Detail)
	}
	// The cap is 2^18 elements of 8 bytes (2 MiB) in wazero.
	const bound = 64 << 20
	if grew := hwm.growth(t); grew > bound {
		t.Fatalf("the process grew by %d MiB, more than %d MiB", grew>>20, bound>>20)
	}

	_, err := e.Load(context.Background(), wat(t, "bigtable"))
	var bad *sandbox.BadModuleError
	if !errors.As(err, &bad) || !strings.Contains(err.Error(), "tables start with 300000 elements") {
		t.Fatalf("a table past the cap: err = %v", err)
	}
}

// TestInitialMemoryOnEveryPath: a module whose initial memory exceeds the
// limit is refused before it is instantiated, by Call and by Describe
// alike, with the memory limit as the reason.
func TestInitialMemoryOnEveryPath(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	huge := wat(t, "hugememory") // 1 GiB initial memory, against 64 MiB
	_, err := e.Describe(context.Background(), huge, limits())
	if err == nil || !strings.Contains(err.Error(), "memory_limit") {
		t.Fatalf("Describe: err = %v, want the memory limit", err)
	}
	res := call(t, e, load(t, e, huge), "main", `{}`, limits())
	if res.Outcome != sandbox.OutcomeMemoryLimit || res.PeakMemory != 0 {
		t.Fatalf("Call: outcome %v, peak %d (%s)", res.Outcome, res.PeakMemory, res.Detail)
	}
}

// TestGoAttacksFailTheBuild builds the two Go modules of the red-team
// report: an 80 MiB package-level array, which used to kill the process
// in the describe step, and an init that reads crypto/rand for ever,
// which used to run for minutes past a seconds-long limit. Both builds
// must fail with the limit that stopped them.
func TestGoAttacksFailTheBuild(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	builder := &build.GoBuilder{Engine: e, GoCache: testmodules.GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
	for dir, says := range map[string]string{"bigglobal": "memory_limit", "randinit": "fuel_exhausted"} {
		t.Run(dir, func(t *testing.T) {
			_, err := builder.BuildDir(context.Background(), filepath.Join(testmodules.Root(), "sandbox/testdata", dir))
			var describe *build.DescribeError
			if !errors.As(err, &describe) || !strings.Contains(err.Error(), says) {
				t.Fatalf("err = %v, want a describe error saying %s", err, says)
			}
		})
	}
}
