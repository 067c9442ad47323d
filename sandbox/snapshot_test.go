package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/sandbox"
)

func isolation(t testing.TB) []byte { return builds.Go(t, "sandbox/testdata/isolation") }

// observed is what the isolation module's read tool reports.
type observed struct {
	Global     string   `json:"global"`
	Heap       []string `json:"heap"`
	FromGo     string   `json:"fromGo"`
	FromTimer  string   `json:"fromTimer"`
	Leak       string   `json:"leak"`
	Token      string   `json:"token"`
	Environ    []string `json:"environ"`
	Goroutines int      `json:"goroutines"`
	Random     string   `json:"random"`
}

func readState(t testing.TB, e *sandbox.Engine, m *sandbox.Module, token string) (observed, string) {
	t.Helper()
	req := sandbox.Request{Tool: "read", Args: []byte(`{}`), Limits: limits()}
	if token != "" {
		req.Env = map[string]string{"TOKEN": token}
	}
	res, err := e.Call(context.Background(), m, req)
	if err != nil || res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("read: %v %v %s", err, res.Outcome, res.Detail)
	}
	var o observed
	if err := json.Unmarshal([]byte(text(res)), &o); err != nil {
		t.Fatalf("read returned %q: %v", text(res), err)
	}
	return o, text(res)
}

// sameState compares two reads, apart from the random bytes, which must
// differ (crypto/rand is not part of the snapshot).
func sameState(t testing.TB, before, after observed, afterRaw, secret string) {
	t.Helper()
	if strings.Contains(afterRaw, secret) {
		t.Fatalf("a later call saw the secret: %s", afterRaw)
	}
	if before.Random == after.Random {
		t.Fatalf("crypto/rand repeated across calls: %s", after.Random)
	}
	before.Random, after.Random = "", ""
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	if string(a) != string(b) {
		t.Fatalf("state differs from a fresh instance's:\nbefore %s\nafter  %s", b, a)
	}
}

// endings are the ways the write call ends, with the limits that make it.
func endings() []struct {
	then    string
	lim     sandbox.Limits
	outcome sandbox.Outcome
} {
	short := limits()
	short.Timeout, short.Fuel = 300*time.Millisecond, 1<<50
	lowFuel := limits()
	lowFuel.Fuel = 3_000_000
	return []struct {
		then    string
		lim     sandbox.Limits
		outcome sandbox.Outcome
	}{
		{"return", limits(), sandbox.OutcomeOK},
		{"error", limits(), sandbox.OutcomeToolError},
		{"panic", limits(), sandbox.OutcomeTrap},
		{"exit", limits(), sandbox.OutcomeTrap},
		{"fatal", limits(), sandbox.OutcomeTrap},
		{"spin", short, sandbox.OutcomeTimeout},
		{"spin", lowFuel, sandbox.OutcomeFuelExhausted},
		{"grow", limits(), sandbox.OutcomeOK},
		{"closefd", limits(), sandbox.OutcomeOK},
	}
}

// TestIsolationAfterEveryEnding: after a call that left a secret in a
// global, the heap, a running goroutine, a pending timer and the
// environment, and then ended in each way a call can end, the next call
// sees exactly what a call on a fresh instance sees. Run on warm
// instances (restored or replaced) and on fresh ones, and with restore
// switched off as the control that shows the test can fail.
func TestIsolationAfterEveryEnding(t *testing.T) {
	wasm := isolation(t)
	// "warm" restores only written pages where the kernel can report them
	// (dirty_linux.go); "warm copy" copies all of memory, as elsewhere.
	for _, mode := range []string{"warm", "warm copy", "fresh"} {
		t.Run(mode, func(t *testing.T) {
			e := newEngine(t, sandbox.Config{FreshInstances: mode == "fresh", CopyRestore: mode == "warm copy"})
			m := load(t, e, wasm)
			base, _ := readState(t, e, m, "")
			e.Settle()
			for i, end := range endings() {
				secret := fmt.Sprintf("secret-%d-%s", i, end.then)
				res := call(t, e, m, "write", fmt.Sprintf(`{"secret":%q,"then":%q}`, secret, end.then), end.lim)
				if res.Outcome != end.outcome {
					t.Fatalf("%s: outcome %v (%s), want %v", end.then, res.Outcome, res.Detail, end.outcome)
				}
				e.Settle()
				after, raw := readState(t, e, m, "")
				e.Settle()
				sameState(t, base, after, raw, secret)
				if !strings.Contains(readConsole(t, e, m), "read ran") {
					t.Fatalf("after %s, a call's stdout no longer reaches its console", end.then)
				}
				e.Settle()
			}
			st := e.WarmStats()
			if mode != "fresh" && (st.Served == 0 || st.Restored == 0 || st.Discarded < 7 || st.Initialised != 1) {
				t.Fatalf("warm pools did not serve these calls as intended: %+v", st)
			}
			if mode == "fresh" && st != (sandbox.WarmStats{}) {
				t.Fatalf("fresh instances used warm pools: %+v", st)
			}
		})
	}
	t.Run("control without restore", func(t *testing.T) {
		e := newEngine(t, sandbox.Config{})
		e.SkipRestore(true)
		m := load(t, e, wasm)
		readState(t, e, m, "")
		e.Settle()
		call(t, e, m, "write", `{"secret":"visible","then":"return"}`, limits())
		e.Settle()
		after, _ := readState(t, e, m, "")
		if after.Global != "visible" || after.Leak != "visible" || len(after.Heap) != 1 || after.FromTimer != "visible" || after.FromGo != "visible" {
			t.Fatalf("without restore the leak should be visible everywhere, saw %+v", after)
		}
	})
}

func readConsole(t testing.TB, e *sandbox.Engine, m *sandbox.Module) string {
	t.Helper()
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "read", Limits: limits()})
	if err != nil {
		t.Fatal(err)
	}
	return res.Console
}

// TestIsolationTwoCustomersConcurrently: two customers call one module at
// once, each with its own per-request env and secrets; no call sees the
// other customer's env or anything an earlier call wrote.
func TestIsolationTwoCustomersConcurrently(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, isolation(t))
	base, _ := readState(t, e, m, "")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, customer := range []string{"alice", "bob"} {
		for worker := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 8 {
					secret := fmt.Sprintf("%s-%d-%d", customer, worker, i)
					req := sandbox.Request{Tool: "write", Args: fmt.Appendf(nil, `{"secret":%q,"then":"return"}`, secret),
						Env: map[string]string{"TOKEN": customer}, Limits: limits()}
					if res, err := e.Call(context.Background(), m, req); err != nil || res.Outcome != sandbox.OutcomeOK {
						errs <- fmt.Errorf("write: %v %v %s", err, res.Outcome, res.Detail)
						return
					}
					res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "read", Env: map[string]string{"TOKEN": customer}, Limits: limits()})
					if err != nil {
						errs <- err
						return
					}
					var o observed
					if err := json.Unmarshal([]byte(text(res)), &o); err != nil {
						errs <- fmt.Errorf("read %q: %v", text(res), err)
						return
					}
					want := base
					want.Token, want.Environ, o.Random, want.Random = customer, []string{"TOKEN=" + customer}, "", ""
					a, _ := json.Marshal(o)
					b, _ := json.Marshal(want)
					if string(a) != string(b) {
						errs <- fmt.Errorf("%s saw %s, want %s", customer, a, b)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := e.WarmStats(); st.Served < 64 {
		t.Fatalf("only %d of 65 calls ran warm: %+v", st.Served, st)
	}
}

// FuzzRestore: whatever a call and random writes into memory and globals
// leave in a warm instance, restore makes it equal to the snapshot, byte
// for byte.
func FuzzRestore(f *testing.F) {
	f.Add("hello", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0, 0, 0, 0, 0, 9})
	f.Add("", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	e := newEngine(f, sandbox.Config{})
	m := load(f, e, isolation(f))
	f.Fuzz(func(t *testing.T, text string, data []byte) {
		if err := sandbox.CheckRestore(context.Background(), e, m, text, data); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRestoreCopiesOnlyWrittenPages: where the kernel reports written
// pages, restoring after an echo call copies a small part of the memory
// (and the isolation tests above, run the same way, prove it exact); with
// CopyRestore, or without the kernel's help, all of it.
func TestRestoreCopiesOnlyWrittenPages(t *testing.T) {
	wasm := isolation(t)
	restored := func(cfg sandbox.Config) (perCall, memory float64, tracked bool) {
		e := newEngine(t, cfg)
		m := load(t, e, wasm)
		req := sandbox.Request{Tool: "echo", Args: []byte(`{"text":"hello"}`), Limits: limits()}
		var peak uint64
		for range 20 {
			res, err := e.Call(context.Background(), m, req)
			if err != nil || res.Outcome != sandbox.OutcomeOK {
				t.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
			}
			peak = res.PeakMemory
			e.Settle()
		}
		st := e.WarmStats()
		if st.Restored == 0 {
			t.Fatalf("nothing restored: %+v", st)
		}
		return float64(st.RestoredBytes) / float64(st.Restored), float64(peak), e.DirtyTracking()
	}
	full, memory, _ := restored(sandbox.Config{CopyRestore: true})
	if full != memory {
		t.Fatalf("CopyRestore copied %.0f bytes a restore, the memory is %.0f", full, memory)
	}
	dirty, _, tracked := restored(sandbox.Config{})
	if !tracked {
		t.Skip("this kernel or process cannot report written pages (Linux 6.7+ and userfaultfd needed); restores copy everything")
	}
	if dirty > memory/10 {
		t.Fatalf("restores copied %.0f bytes a call on average, of %.0f: the written pages should be a few percent", dirty, memory)
	}
	t.Logf("restore copies %.0f of %.0f bytes a call", dirty, memory)
}

// TestRestoredCallsDoNotRedoLazyWork: the Go toolkit fills what a call
// would cache lazily (encoding/json's codecs for the tool's types, the
// schema validator, the environment copy, the allocator's caches) before
// the snapshot, so a call on a restored instance costs about what a call
// on an instance that kept its caches costs (the control, SkipRestore):
// without that, an echo call on a restored instance took 5.6 times the
// fuel, every call.
func TestRestoredCallsDoNotRedoLazyWork(t *testing.T) {
	wasm := isolation(t)
	fuelOf := func(skipRestore bool) uint64 {
		e := newEngine(t, sandbox.Config{})
		e.SkipRestore(skipRestore)
		m := load(t, e, wasm)
		req := sandbox.Request{Tool: "echo", Args: []byte(`{"text":"hello"}`), Limits: limits()}
		var used uint64
		for range 5 {
			res, err := e.Call(context.Background(), m, req)
			if err != nil || res.Outcome != sandbox.OutcomeOK {
				t.Fatalf("%v %v %s", err, res.Outcome, res.Detail)
			}
			used = res.FuelUsed
			e.Settle()
		}
		return used
	}
	kept, restored := fuelOf(true), fuelOf(false)
	if float64(restored) > 1.5*float64(kept) {
		t.Fatalf("an echo call used %d fuel on a restored instance, %d on one that kept its caches", restored, kept)
	}
	t.Logf("echo: %d fuel restored, %d with caches kept", restored, kept)
}

// TestModuleWarmIsInTheSnapshot: a Go module's Module.Warm runs after the
// toolkit's collection (the module's warm compares the collections
// counted then with those counted when main returned), and what it leaves
// is in the snapshot, so every call finds it, also one after a call that
// took it (a sync.Pool's object).
func TestModuleWarmIsInTheSnapshot(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, isolation(t))
	for i := range 3 {
		res := call(t, e, m, "warmed", `{}`, limits())
		if res.Outcome != sandbox.OutcomeOK || !strings.Contains(text(res), `"warmed":true,"pooled":true`) {
			t.Fatalf("call %d: %v %s %s", i, res.Outcome, text(res), res.Detail)
		}
		e.Settle()
	}
}

// TestStructResultCostsAboutAStringResult: a Go tool's struct result of
// the common shape is encoded by the toolkit's fast encoder, its
// structured content is not checked and compacted again, and the
// allocator's caches it needs are in the snapshot, so a trivial call
// returning one costs about what a call returning a string costs: 21.6k
// fuel against 15.2k for this text, where encoding/json made it 62.5k
// (28.9k without the allocator's caches).
func TestStructResultCostsAboutAStringResult(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, isolation(t))
	fuelOf := func(tool string) uint64 {
		var used uint64
		for range 3 {
			res := call(t, e, m, tool, `{"text":"hello <&>"}`, limits())
			if res.Outcome != sandbox.OutcomeOK {
				t.Fatalf("%s: %v %s", tool, res.Outcome, res.Detail)
			}
			used = res.FuelUsed
			e.Settle()
		}
		return used
	}
	text, structured := fuelOf("echo"), fuelOf("echo_struct")
	if float64(structured) > 1.6*float64(text) {
		t.Fatalf("echo_struct used %d fuel, echo %d", structured, text)
	}
	t.Logf("echo_struct: %d fuel, echo: %d", structured, text)
}

// TestWarmCallsPastTheToolkitBuffers: a reactor built with the Go toolkit
// keeps buffers for the call and result documents (4 KiB each) in its
// snapshot; a call whose documents are larger allocates its own, and the
// calls after it, small or large, on restored instances, get exactly
// their own text back. Calls of up to 200 KB allocate within the
// snapshot's free heap.
func TestWarmCallsPastTheToolkitBuffers(t *testing.T) {
	e := newEngine(t, sandbox.Config{WarmPerModule: 1})
	m := load(t, e, isolation(t))
	for i, n := range []int{10, 5000, 20, 4000, 200_000, 10} {
		text := strings.Repeat(string(rune('a'+i)), n)
		args, _ := json.Marshal(map[string]string{"text": text})
		res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "echo", Args: args, Limits: limits()})
		if err != nil || res.Outcome != sandbox.OutcomeOK || res.Answer.Text != text {
			t.Fatalf("echo of %d bytes: %v %v %s, %d bytes back", n, err, res.Outcome, res.Detail, len(res.Answer.Text))
		}
		e.Settle()
	}
	// The snapshot's free heap (the toolkit's heapHeadroom) takes every
	// call's allocations: none grows the memory, so every instance is
	// restored, none discarded.
	if st := e.WarmStats(); st.Restored != 6 || st.Discarded != 0 {
		t.Fatalf("the calls did not all run on restored instances: %+v", st)
	}
}

// TestCloseWithCallsInFlight: Engine.Close while a warm call still runs
// (a server cut off at its shutdown deadline does that) cancels the call
// and waits for it (and its instance's restore) before dropping the pools
// and closing the runtime it runs in. Before, the call's restore read the
// dropped snapshot and the process crashed, and the runtime was closed
// under the running call (a data race in wazero).
func TestCloseWithCallsInFlight(t *testing.T) {
	e, err := sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: modules.Dir(t)})
	if err != nil {
		t.Fatal(err)
	}
	m := load(t, e, isolation(t))
	if res := call(t, e, m, "echo", `{"text":"warm"}`, limits()); res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("echo: %v %s", res.Outcome, res.Detail)
	}
	lim := limits()
	lim.Timeout = 5 * time.Second
	done := make(chan sandbox.Result)
	go func() {
		res, _ := e.Call(context.Background(), m, sandbox.Request{Tool: "write", Args: []byte(`{"secret":"s","then":"spin"}`), Limits: lim})
		done <- res
	}()
	time.Sleep(100 * time.Millisecond) // ordering only: the call is (most likely) running
	if err := e.Close(context.Background()); err != nil {
		t.Logf("close: %v", err)
	}
	// Close waited for the call, which it cancelled: it has ended.
	select {
	case res := <-done:
		if res.Outcome != sandbox.OutcomeCanceled {
			t.Errorf("the call in flight ended %v (%s), want canceled", res.Outcome, res.Detail)
		}
	default:
		t.Fatal("Close returned before the call in flight ended")
	}
	if _, err := e.Call(context.Background(), m, sandbox.Request{Tool: "echo", Args: []byte(`{"text":"late"}`), Limits: limits()}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("a call after Close: %v, want ErrClosed", err)
	}
}
