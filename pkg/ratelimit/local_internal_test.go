package ratelimit

import (
	"context"
	"testing"
	"time"
)

// TestLocalBucket: a burst of the whole limit, then one event per interval;
// a refused event says when to retry and does not use up the budget.
func TestLocalBucket(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewLocal()
	l.now = func() time.Time { return now }
	ctx := context.Background()
	lim := PerMinute(3)
	for i := range 3 {
		if d, err := l.Allow(ctx, "k", lim); err != nil || !d.Allowed {
			t.Fatalf("event %d refused: %+v %v", i, d, err)
		}
	}
	d, _ := l.Allow(ctx, "k", lim)
	if d.Allowed || d.RetryAfter != 20*time.Second {
		t.Fatalf("over the limit: %+v", d)
	}
	// Refusals do not push the next token further away.
	for range 5 {
		l.Allow(ctx, "k", lim)
	}
	now = now.Add(20 * time.Second)
	if d, _ := l.Allow(ctx, "k", lim); !d.Allowed {
		t.Fatalf("after the interval: %+v", d)
	}
	// Other keys have their own budget.
	if d, _ := l.Allow(ctx, "other", lim); !d.Allowed {
		t.Fatalf("another key: %+v", d)
	}
	// A larger limit (a plan upgrade) applies at once: the bucket it
	// had is empty, but it refills at the new rate.
	if d, _ := l.Allow(ctx, "k", PerMinute(100)); d.Allowed || d.RetryAfter > 600*time.Millisecond {
		t.Fatalf("after raising the limit: %+v", d)
	}
	now = now.Add(600 * time.Millisecond)
	if d, _ := l.Allow(ctx, "k", PerMinute(100)); !d.Allowed {
		t.Fatalf("one new interval after raising the limit: %+v", d)
	}
	if _, err := l.Allow(ctx, "k", Limit{}); err == nil {
		t.Fatal("a zero limit was accepted")
	}
}

// TestLocalForgetsIdleKeys: memory follows active keys.
func TestLocalForgetsIdleKeys(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewLocal()
	l.now = func() time.Time { return now }
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(context.Background(), k, PerMinute(10))
	}
	if l.size() != 3 {
		t.Fatalf("%d buckets", l.size())
	}
	now = now.Add(2 * time.Minute)
	l.Allow(context.Background(), "d", PerMinute(10))
	if l.size() != 1 {
		t.Fatalf("%d buckets after the idle ones refilled", l.size())
	}
}
