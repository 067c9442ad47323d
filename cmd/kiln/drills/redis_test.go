package drills

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisRecoveryBound: once Redis is back, the node shares its limits
// through it again within this (it retries Redis once a second).
const redisRecoveryBound = 5 * time.Second

// privateRedis is a redis-server of the drill's own, stopped and started
// again on the same port.
type privateRedis struct {
	bin, addr string
	cmd       *exec.Cmd
	exited    chan struct{}
}

func startRedis(t *testing.T) *privateRedis {
	t.Helper()
	r := &privateRedis{bin: need(t, "redis-server", "/usr/bin"), addr: freeAddr(t)}
	r.start(t)
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *privateRedis) start(t *testing.T) {
	t.Helper()
	host, port, _ := strings.Cut(r.addr, ":")
	r.cmd = exec.Command(r.bin, "--bind", host, "--port", port, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	r.exited = make(chan struct{})
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	c := r.client()
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer within 10s")
		}
	}
}

func (r *privateRedis) stop(t *testing.T) {
	t.Helper()
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	<-r.exited
}

func (r *privateRedis) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
}

// keys counts the rate-limit keys Kiln keeps in Redis.
func (r *privateRedis) keys(t *testing.T) int {
	t.Helper()
	c := r.client()
	defer c.Close()
	keys, err := c.Keys(context.Background(), "kiln:rl:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// admitted makes calls until the node refuses one with 429 and returns
// how many it admitted (at most max).
func admitted(t *testing.T, tn tenant, base string, max int) int {
	t.Helper()
	for i := range max + 1 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := tn.call(ctx, client, base, "echo", map[string]string{"text": "limited"})
		cancel()
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if res.Status == http.StatusTooManyRequests {
			return i
		}
		if !res.ok() {
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	return max + 1
}

// TestRedisDown: the node's rate limits live in Redis; with Redis gone
// they are counted by the node itself, said once in the log and in the
// metrics, and with Redis back they are shared again within
// redisRecoveryBound.
func TestRedisDown(t *testing.T) {
	heavy(t)
	rd := startRedis(t)
	d := newDeployment(t, "")
	d.vars["KILN_REDIS_URL"] = "redis://" + rd.addr + "/0"
	const perMinute = 5
	n := d.start(t, "node", "--mcp-ip-requests-per-minute", "5")
	d.pushLibrary(t, n.url, "1.0.0")
	tn := d.newTenant(t, n.url, "echo")

	if got := admitted(t, tn, n.url, 2*perMinute); got != perMinute {
		t.Fatalf("with Redis: %d calls admitted, want %d", got, perMinute)
	}
	if rd.keys(t) == 0 || metric(t, n, d.token, "kiln_rate_limit_shared") != 1 {
		t.Fatal("the limits are not in Redis")
	}

	rd.stop(t)
	// This node's own counters start afresh: the same limit, per node.
	if got := admitted(t, tn, n.url, 2*perMinute); got != perMinute {
		t.Fatalf("without Redis: %d calls admitted, want %d", got, perMinute)
	}
	if !strings.Contains(n.log.String(), "rate limits fell back to this node's counters: Redis is unavailable") {
		t.Error("no log line says the limits fell back")
	}
	if shared, fallbacks := metric(t, n, d.token, "kiln_rate_limit_shared"), metric(t, n, d.token, "kiln_rate_limit_fallbacks_total"); shared != 0 || fallbacks < perMinute {
		t.Errorf("metrics without Redis: shared %v, fallbacks %v", shared, fallbacks)
	}

	rd.start(t)
	back := time.Now()
	for metric(t, n, d.token, "kiln_rate_limit_shared") != 1 {
		if time.Since(back) > redisRecoveryBound {
			t.Fatalf("limits not shared through Redis %v after it came back", redisRecoveryBound)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = tn.call(ctx, client, n.url, "echo", map[string]string{"text": "probe"}) // events try Redis
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("limits shared through Redis again %v after it came back", time.Since(back).Round(time.Millisecond))
	if rd.keys(t) == 0 {
		t.Error("no limit is in Redis after it came back")
	}
	if !strings.Contains(n.log.String(), "rate limits shared through Redis again") {
		t.Error("no log line says the limits are shared again")
	}
}
