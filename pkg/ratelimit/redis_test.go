package ratelimit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// TestRedisShared: two limiters on one Redis share each key's budget, as
// two nodes do.
func TestRedisShared(t *testing.T) {
	c := testmodules.Redis(t, nil)
	prefix := "kiln-test:" + strings.ToLower(t.Name()) + ":" + time.Now().Format("150405.000000") + ":"
	a := ratelimit.NewRedis(c, ratelimit.RedisOptions{Prefix: prefix})
	b := ratelimit.NewRedis(c, ratelimit.RedisOptions{Prefix: prefix})
	ctx := context.Background()
	lim := ratelimit.PerMinute(4)
	for i, l := range []*ratelimit.Redis{a, b, a, b} {
		if d, err := l.Allow(ctx, "k", lim); err != nil || !d.Allowed {
			t.Fatalf("event %d: %+v %v", i, d, err)
		}
	}
	d, err := b.Allow(ctx, "k", lim)
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 15*time.Second {
		t.Fatalf("fifth event: %+v %v", d, err)
	}
	if d, _ := a.Allow(ctx, "other", lim); !d.Allowed {
		t.Fatalf("another key: %+v", d)
	}
	// A short interval refills quickly: the TAT arithmetic is right.
	fast := ratelimit.Limit{Events: 2, Per: 200 * time.Millisecond}
	a.Allow(ctx, "fast", fast)
	a.Allow(ctx, "fast", fast)
	if d, _ := a.Allow(ctx, "fast", fast); d.Allowed {
		t.Fatal("third fast event allowed")
	}
	time.Sleep(120 * time.Millisecond)
	if d, _ := b.Allow(ctx, "fast", fast); !d.Allowed {
		t.Fatalf("after one interval: %+v", d)
	}
}

// TestRedisDownFallsBack: with Redis unreachable, limits still hold, per
// process, and the failure is reported.
func TestRedisDownFallsBack(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	var reported error
	l := ratelimit.NewRedis(c, ratelimit.RedisOptions{OnError: func(err error) { reported = err }})
	ctx := context.Background()
	lim := ratelimit.PerMinute(1)
	if d, err := l.Allow(ctx, "k", lim); err != nil || !d.Allowed {
		t.Fatalf("first: %+v %v", d, err)
	}
	if d, err := l.Allow(ctx, "k", lim); err != nil || d.Allowed {
		t.Fatalf("second: %+v %v", d, err)
	}
	if reported == nil {
		t.Fatal("the Redis failure was not reported")
	}
	// A canceled request is an error, not a fallback decision.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Allow(cctx, "k", lim); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
