// Package ratelimit counts events against per-key limits such as "30 tool
// calls a minute per customer". Local keeps the counters in this process
// (golang.org/x/time/rate); Redis shares them between every node of a
// deployment, so a client spreading its requests over several nodes meets
// the same limit as one talking to a single node.
//
// Both use the same algorithm, a token bucket: a limit of N per period
// admits a burst of N, then one event every period/N. A refused event says
// when the next one would be admitted (Decision.RetryAfter), which is what
// an HTTP 429's Retry-After header needs.
package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Limit is how many events a key may have per period.
type Limit struct {
	Events int
	Per    time.Duration
}

// PerMinute is a limit of n events a minute.
func PerMinute(n int) Limit { return Limit{Events: n, Per: time.Minute} }

func (l Limit) validate() error {
	if l.Events <= 0 || l.Per <= 0 {
		return fmt.Errorf("ratelimit: limit of %d events per %v: both must be positive", l.Events, l.Per)
	}
	return nil
}

// interval is the time one event's token takes to come back.
func (l Limit) interval() time.Duration { return l.Per / time.Duration(l.Events) }

// Decision is the answer for one event.
type Decision struct {
	Allowed bool
	// RetryAfter, when the event was refused, is how long until the key
	// admits one again.
	RetryAfter time.Duration
}

// Limiter admits or refuses one event for a key. Keys are opaque strings;
// callers namespace them ("ip:", "customer:", ...). A key's limit may change
// between calls (a customer moves to another plan): the new limit applies
// from that call on.
type Limiter interface {
	Allow(ctx context.Context, key string, limit Limit) (Decision, error)
}
