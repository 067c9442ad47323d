package testmodules

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisAddr is where tests find Redis (the machine's own, as in CI).
const RedisAddr = "127.0.0.1:6379"

// Redis returns a client of the test Redis (database 9; tests isolate
// themselves by key prefix), closed at the end of the test. opts, when not
// nil, sets anything else (a dialer that can cut the connection, say);
// its Addr and DB are replaced. Without Redis the test is skipped, except
// in CI (CI set), where a missing Redis is a failure.
func Redis(t testing.TB, opts *redis.Options) *redis.Client {
	t.Helper()
	if opts == nil {
		opts = &redis.Options{}
	}
	opts.Addr, opts.DB = RedisAddr, 9
	c := redis.NewClient(opts)
	if err := c.Ping(context.Background()).Err(); err != nil {
		c.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s is required in CI: %v", RedisAddr, err)
		}
		t.Skipf("Redis at %s is not running: %v", RedisAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
