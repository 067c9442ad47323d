package ratelimit

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/redis/go-redis/v9"
)

// cutConn fails every read and write while cut is set, as a connection to
// a Redis that went away does.
type cutConn struct {
	net.Conn
	cut *atomic.Bool
}

var errCut = errors.New("connection cut by the test")

func (c cutConn) Read(p []byte) (int, error) {
	if c.cut.Load() {
		return 0, errCut
	}
	return c.Conn.Read(p)
}

func (c cutConn) Write(p []byte) (int, error) {
	if c.cut.Load() {
		return 0, errCut
	}
	return c.Conn.Write(p)
}

// TestRedisFallbackAndBack: Redis going away moves the limits to this
// process, once and loudly (OnState), and only one event per retry
// interval tries Redis meanwhile; Redis answering again brings the shared
// limits back at the next retry.
func TestRedisFallbackAndBack(t *testing.T) {
	var cut atomic.Bool
	c := testmodules.Redis(t, &redis.Options{MaxRetries: -1,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if cut.Load() {
				return nil, errCut
			}
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return cutConn{conn, &cut}, nil
		}})
	var states []bool
	var redisCalls int
	now := time.Unix(1_000_000, 0)
	r := NewRedis(c, RedisOptions{Prefix: "kiln-test:" + strings.ToLower(t.Name()) + ":" + time.Now().Format("150405.000000") + ":",
		OnError: func(error) { redisCalls++ }, OnState: func(shared bool, _ error) { states = append(states, shared) }})
	r.now = func() time.Time { return now }
	ctx := context.Background()
	lim := PerMinute(1000)

	if d, err := r.Allow(ctx, "k", lim); err != nil || !d.Allowed || !r.Shared() {
		t.Fatalf("with Redis: %+v %v shared=%v", d, err, r.Shared())
	}
	cut.Store(true)
	for i := range 5 {
		if d, err := r.Allow(ctx, "k", lim); err != nil || !d.Allowed {
			t.Fatalf("event %d without Redis: %+v %v", i, d, err)
		}
	}
	if r.Shared() || len(states) != 1 || states[0] || redisCalls != 1 || r.Fallbacks() != 5 {
		t.Fatalf("after Redis went away: shared=%v states=%v redis tries=%d fallbacks=%d", r.Shared(), states, redisCalls, r.Fallbacks())
	}
	now = now.Add(DefaultRedisRetry)
	r.Allow(ctx, "k", lim) // tries Redis again, still down
	if redisCalls != 2 || len(states) != 1 {
		t.Fatalf("one retry: redis tries=%d states=%v", redisCalls, states)
	}
	cut.Store(false)
	r.Allow(ctx, "k", lim) // within the interval: not tried
	if r.Shared() {
		t.Fatal("shared again before the retry interval")
	}
	now = now.Add(DefaultRedisRetry)
	if d, err := r.Allow(ctx, "k", lim); err != nil || !d.Allowed || !r.Shared() {
		t.Fatalf("Redis back: %+v %v shared=%v", d, err, r.Shared())
	}
	if len(states) != 2 || !states[1] {
		t.Fatalf("states %v, want [false true]", states)
	}
}
