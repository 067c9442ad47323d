package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the generic cell rate algorithm, the token bucket's twin that
// needs one number per key: the theoretical arrival time (TAT) of the next
// event, in microseconds. An event is admitted if, after it, the TAT is no
// more than burst intervals ahead of now. The clock is Redis's own (TIME),
// so nodes whose clocks disagree still share one limit. Numbers are
// formatted with %.0f because Lua 5.1's default formatting would round
// 16-digit values.
var gcra = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local next_tat = tat + interval
local allow_at = next_tat - burst * interval
if allow_at > now then
  return string.format('%.0f', allow_at - now)
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', string.format('%.0f', math.ceil((next_tat - now) / 1000)))
return '-1'
`)

// Redis is a Limiter shared by every node using the same Redis. When Redis
// cannot be reached it falls back to an in-process limiter: limits then
// hold per node rather than not at all, and Redis being down does not take
// the service down with it. While it is down, one event per RetryInterval
// tries Redis again and the others are decided in process at once, so
// calls do not each wait for a dead Redis; the first event Redis answers
// brings the shared limits back. OnState hears both changes.
type Redis struct {
	client   redis.UniversalClient
	prefix   string
	fallback *Local
	onError  func(error)
	onState  func(shared bool, err error)
	retry    time.Duration
	now      func() time.Time

	mu        sync.Mutex
	down      bool      // the last Redis call failed
	retryAt   time.Time // while down, when the next event tries Redis
	fallbacks atomic.Uint64
}

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// Prefix starts every key Kiln writes (default "kiln:rl:").
	Prefix string
	// OnError hears about each failed Redis call (default: ignored). The
	// event was decided by the in-process fallback.
	OnError func(error)
	// OnState hears when the limits stop being shared (shared false, with
	// Redis's error) and when they are shared again (default: ignored).
	OnState func(shared bool, err error)
	// RetryInterval is how often, while Redis is down, an event tries it
	// again (default DefaultRedisRetry).
	RetryInterval time.Duration
}

// DefaultRedisRetry: Redis back is noticed within a second, and a dead
// Redis costs one event a second its connection timeout.
const DefaultRedisRetry = time.Second

// NewRedis returns a limiter keeping its counters in client.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.Prefix == "" {
		opts.Prefix = "kiln:rl:"
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	if opts.OnState == nil {
		opts.OnState = func(bool, error) {}
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRedisRetry
	}
	return &Redis{client: client, prefix: opts.Prefix, fallback: NewLocal(), onError: opts.OnError, onState: opts.OnState,
		retry: opts.RetryInterval, now: time.Now}
}

// Shared says whether the limits are shared through Redis now (false
// while they are counted per node), for a metric.
func (r *Redis) Shared() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down
}

// Fallbacks counts the events decided in process because Redis was
// unavailable, for a metric.
func (r *Redis) Fallbacks() uint64 { return r.fallbacks.Load() }

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, limit Limit) (Decision, error) {
	if err := limit.validate(); err != nil {
		return Decision{}, err
	}
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err) // the event's request is gone
	}
	if !r.tryRedis() {
		r.fallbacks.Add(1)
		return r.fallback.Allow(ctx, key, limit)
	}
	wait, err := gcra.Run(ctx, r.client, []string{r.prefix + key},
		limit.interval().Microseconds(), limit.Events).Int64()
	if err != nil {
		if ctx.Err() != nil {
			return Decision{}, fmt.Errorf("ratelimit: %w", ctx.Err())
		}
		r.failed(fmt.Errorf("ratelimit: redis: %w", err))
		r.fallbacks.Add(1)
		return r.fallback.Allow(ctx, key, limit)
	}
	r.answered()
	if wait < 0 {
		return Decision{Allowed: true}, nil
	}
	return Decision{RetryAfter: time.Duration(wait) * time.Microsecond}, nil
}

// tryRedis says whether this event asks Redis: always while it answers;
// while it is down, one event per retry interval.
func (r *Redis) tryRedis() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.down {
		return true
	}
	now := r.now()
	if now.Before(r.retryAt) {
		return false
	}
	r.retryAt = now.Add(r.retry)
	return true
}

// failed records a failed Redis call.
func (r *Redis) failed(err error) {
	r.mu.Lock()
	was := r.down
	r.down, r.retryAt = true, r.now().Add(r.retry)
	r.mu.Unlock()
	r.onError(err)
	if !was {
		r.onState(false, err)
	}
}

// answered records a Redis call that worked.
func (r *Redis) answered() {
	r.mu.Lock()
	was := r.down
	r.down = false
	r.mu.Unlock()
	if was {
		r.onState(true, nil)
	}
}
