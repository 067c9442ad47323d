package drills

import (
	"context"
	"os"
	"testing"
	"time"
)

// Bounds of the soak.
const (
	// soakInterval fixes the rate of calls: five a second.
	soakInterval = 200 * time.Millisecond
	// soakWarmup runs before the first measurement: the module compiles,
	// pools and caches fill.
	soakWarmup = 5 * time.Second
	// soakRSSGrowth bounds the node's resident memory growth from the end
	// of the warm-up to the end of the soak.
	soakRSSGrowth = 64 << 20
	// soakGoroutineGrowth bounds the node's goroutines left once the load
	// has stopped and its connections closed.
	soakGoroutineGrowth = 10
)

// TestSoak: calls at a fixed rate for KILN_SOAK_DURATION (default 30s):
// every one answered and logged, resident memory and goroutines bounded.
func TestSoak(t *testing.T) {
	heavy(t)
	duration := 30 * time.Second
	if v := os.Getenv("KILN_SOAK_DURATION"); v != "" {
		var err error
		if duration, err = time.ParseDuration(v); err != nil {
			t.Fatalf("KILN_SOAK_DURATION: %v", err)
		}
	}
	dbURL := postgres(t)
	d := newDeployment(t, dbURL)
	n := d.start(t, "node", "--max-conns-per-addr", "4096")
	d.pushLibrary(t, n.url, "1.0.0")
	tn := d.newTenant(t, n.url, "echo")
	untilCallable(t, tn, n.url, "echo", time.Now().Add(60*time.Second))

	ctx, stop := context.WithCancel(context.Background())
	loaded := make(chan *loadResult, 1)
	go func() { loaded <- tn.load(ctx, n.url, "soak", soakInterval, 30*time.Second) }()
	time.Sleep(soakWarmup) // the warm-up, under load
	rss0 := rssBytes(t, n.cmd.Process.Pid)
	g0 := metric(t, n, d.token, "go_goroutines")
	time.Sleep(duration) // the soak itself
	rss1 := rssBytes(t, n.cmd.Process.Pid)
	stop()
	r := <-loaded

	// The load's connections are closed; the node's goroutines for them
	// end shortly after.
	g1 := metric(t, n, d.token, "go_goroutines")
	for deadline := time.Now().Add(5 * time.Second); g1 > g0+soakGoroutineGrowth && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		g1 = metric(t, n, d.token, "go_goroutines")
	}
	t.Logf("soak %v at %v/call: %d answered, %d failed, p50 %v, p99 %v, slowest %v; RSS %d → %d MiB; goroutines %v → %v",
		duration, soakInterval, len(r.answered), len(r.failures), r.percentile(0.5).Round(time.Millisecond),
		r.percentile(0.99).Round(time.Millisecond), r.slowest.Round(time.Millisecond), rss0>>20, rss1>>20, g0, g1)
	if len(r.failures) > 0 {
		t.Errorf("%d calls failed, such as %+v", len(r.failures), r.failures[0])
	}
	if rss1-rss0 > soakRSSGrowth {
		t.Errorf("resident memory grew by %d MiB (bound %d MiB)", (rss1-rss0)>>20, soakRSSGrowth>>20)
	}
	if g1 > g0+soakGoroutineGrowth {
		t.Errorf("goroutines %v → %v once the load stopped", g0, g1)
	}
	assertLogged(t, dbURL, tn, r.answered)
}
