package ratelimit

import (
	"context"
	"fmt"
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
// cannot be reached it falls back to an in-process limiter and reports the
// error to OnError: limits then hold per node rather than not at all, and
// Redis being down does not take the service down with it.
type Redis struct {
	client   redis.UniversalClient
	prefix   string
	fallback *Local
	onError  func(error)
}

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// Prefix starts every key Kiln writes (default "kiln:rl:").
	Prefix string
	// OnError hears about each failed Redis call (default: ignored). The
	// event was decided by the in-process fallback.
	OnError func(error)
}

// NewRedis returns a limiter keeping its counters in client.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.Prefix == "" {
		opts.Prefix = "kiln:rl:"
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	return &Redis{client: client, prefix: opts.Prefix, fallback: NewLocal(), onError: opts.OnError}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, limit Limit) (Decision, error) {
	if err := limit.validate(); err != nil {
		return Decision{}, err
	}
	wait, err := gcra.Run(ctx, r.client, []string{r.prefix + key},
		limit.interval().Microseconds(), limit.Events).Int64()
	if err != nil {
		if ctx.Err() != nil {
			return Decision{}, fmt.Errorf("ratelimit: %w", ctx.Err())
		}
		r.onError(fmt.Errorf("ratelimit: redis: %w", err))
		return r.fallback.Allow(ctx, key, limit)
	}
	if wait < 0 {
		return Decision{Allowed: true}, nil
	}
	return Decision{RetryAfter: time.Duration(wait) * time.Microsecond}, nil
}
