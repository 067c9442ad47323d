package ratelimit_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/ratelimit"
)

type limiterFunc func(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error)

func (f limiterFunc) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	return f(ctx, key, limit)
}

func TestAdmit(t *testing.T) {
	ctx := context.Background()
	decide := func(d ratelimit.Decision, err error) *ratelimit.Refusal {
		return ratelimit.Admit(ctx, limiterFunc(func(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
			return d, err
		}), "k", ratelimit.PerMinute(1))
	}
	if r := decide(ratelimit.Decision{Allowed: true}, nil); r != nil {
		t.Fatalf("allowed event refused: %+v", r)
	}
	for wait, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, time.Minute: 60} {
		r := decide(ratelimit.Decision{RetryAfter: wait}, nil)
		if r == nil || r.Status != http.StatusTooManyRequests || r.RetryAfter != want || r.Err != nil {
			t.Errorf("refused with RetryAfter %v: %+v, want 429 and %d s", wait, r, want)
		}
	}
	boom := errors.New("boom")
	r := decide(ratelimit.Decision{Allowed: true}, boom)
	if r == nil || r.Status != http.StatusServiceUnavailable || !errors.Is(r.Err, boom) || r.RetryAfter < 1 {
		t.Fatalf("a failing limiter must refuse with 503: %+v", r)
	}
	h := http.Header{}
	r.SetHeader(h)
	if h.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
}
