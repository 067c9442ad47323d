package ratelimit

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Refusal is how a front end answers an event the limits do not admit:
// Status is 429 (over the limit) or 503 (the limiter failed), and
// RetryAfter is the Retry-After header's value in whole seconds.
//
// One policy for every front end (the API, MCP, OAuth): a limiter that
// fails refuses. The shared limiter already falls back to this node's
// counters when Redis is down (RedisOptions.OnError), so an error here is a
// canceled request or a bug, and admitting requests nobody counted would
// turn a bug into an open door.
type Refusal struct {
	Status     int
	RetryAfter int
	// Err is the limiter's error when Status is 503, for the log.
	Err error
}

// Admit counts one event for key and returns nil when limit admits it, or
// the answer to give when it does not.
func Admit(ctx context.Context, l Limiter, key string, limit Limit) *Refusal {
	d, err := l.Allow(ctx, key, limit)
	switch {
	case err != nil:
		return &Refusal{Status: http.StatusServiceUnavailable, RetryAfter: 1, Err: err}
	case d.Allowed:
		return nil
	}
	return &Refusal{Status: http.StatusTooManyRequests, RetryAfter: seconds(d.RetryAfter)}
}

// seconds rounds a wait up to whole seconds, at least one: a client told
// "0" would retry at once and be refused again.
func seconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// SetHeader sets Retry-After on h.
func (r *Refusal) SetHeader(h http.Header) { h.Set("Retry-After", strconv.Itoa(r.RetryAfter)) }

// Wait is RetryAfter as a duration, for messages ("Retry in 3s.").
func (r *Refusal) Wait() time.Duration { return time.Duration(r.RetryAfter) * time.Second }
