package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Local is an in-process Limiter. It is safe for concurrent use. Idle keys
// are forgotten once their bucket would be full again, so memory follows the
// number of recently active keys, not every key ever seen.
type Local struct {
	now func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	// sweepAt is when idle buckets are next looked for.
	sweepAt time.Time
}

type bucket struct {
	lim   *rate.Limiter
	limit Limit
	// fullAt is when the bucket has refilled completely, after which
	// forgetting it changes nothing.
	fullAt time.Time
}

// sweepEvery bounds how often Allow walks the map for idle buckets.
const sweepEvery = time.Minute

// NewLocal returns an empty in-process limiter.
func NewLocal() *Local {
	return &Local{now: time.Now, buckets: map[string]*bucket{}}
}

// Allow implements Limiter. It never returns an error for a valid limit.
func (l *Local) Allow(_ context.Context, key string, limit Limit) (Decision, error) {
	if err := limit.validate(); err != nil {
		return Decision{}, err
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Every(limit.interval()), limit.Events), limit: limit}
		l.buckets[key] = b
	} else if b.limit != limit {
		b.lim.SetLimitAt(now, rate.Every(limit.interval()))
		b.lim.SetBurstAt(now, limit.Events)
		b.limit = limit
	}
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		// Give the token back: a refused event must not use up the budget
		// of the events after it.
		r.CancelAt(now)
		return Decision{RetryAfter: delay}, nil
	}
	missing := float64(limit.Events) - b.lim.TokensAt(now)
	b.fullAt = now.Add(time.Duration(missing * float64(limit.interval())))
	return Decision{Allowed: true}, nil
}

// sweep forgets buckets that have refilled completely. l.mu is held.
func (l *Local) sweep(now time.Time) {
	if now.Before(l.sweepAt) {
		return
	}
	l.sweepAt = now.Add(sweepEvery)
	for key, b := range l.buckets {
		if !now.Before(b.fullAt) {
			delete(l.buckets, key)
		}
	}
}

// size is the number of buckets kept, for tests.
func (l *Local) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
