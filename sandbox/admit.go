package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrBusy is the error of a call refused because the node already runs as
// many calls, or holds as much of their memory, as Config allows, and no
// room came free within Config.QueueWait. The error is a *BusyError, which
// suggests when to retry: front ends answer HTTP 503 with Retry-After.
var ErrBusy = errors.New("sandbox: busy")

// BusyError is ErrBusy with the details.
type BusyError struct {
	// Resource is what ran out: "calls" or "memory".
	Resource string
	// RetryAfter is when room is likely: the time until the earliest
	// deadline among the running calls, at least a second.
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("sandbox: busy: no room for another call (%s); retry after %v", e.Resource, e.RetryAfter)
}

// Unwrap makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Unwrap() error { return ErrBusy }

// gate is the engine's admission control: at most maxCalls instances at
// once, whose memory limits add up to at most budget. Calls that do not
// fit queue in arrival order (a large call is not overtaken for ever by
// small ones) for at most wait.
type gate struct {
	maxCalls int
	budget   uint64
	wait     time.Duration

	mu      sync.Mutex
	held    uint64
	running map[*ticket]struct{}
	queue   []*ticket
}

// ticket is one call's claim on the gate.
type ticket struct {
	bytes    uint64
	deadline time.Time
	ready    chan struct{} // closed when a queued ticket is admitted
}

func newGate(maxCalls int, budget uint64, wait time.Duration) *gate {
	return &gate{maxCalls: maxCalls, budget: budget, wait: wait, running: map[*ticket]struct{}{}}
}

// enter admits t, waiting in the queue if there is no room. It fails with
// a *BusyError when the wait runs out, with ctx's error when the caller
// gives up first, and with a *RequestError when t could never fit.
func (g *gate) enter(ctx context.Context, t *ticket) error {
	g.mu.Lock()
	if t.bytes > g.budget {
		g.mu.Unlock()
		return &RequestError{Reason: fmt.Sprintf("memory limit %d exceeds this node's budget for sandbox memory, %d", t.bytes, g.budget)}
	}
	if len(g.queue) == 0 && g.fits(t) {
		g.admit(t)
		g.mu.Unlock()
		return nil
	}
	t.ready = make(chan struct{})
	g.queue = append(g.queue, t)
	g.mu.Unlock()

	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	var err error
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-t.ready: // admitted while giving up: take it
		return nil
	default:
	}
	g.queue = slices.DeleteFunc(g.queue, func(q *ticket) bool { return q == t })
	g.admitQueued() // t may have held up smaller calls behind it
	if err != nil {
		return err
	}
	resource := "memory"
	if len(g.running) >= g.maxCalls {
		resource = "calls"
	}
	return &BusyError{Resource: resource, RetryAfter: g.retryAfter()}
}

// leave gives t's room back and admits whom it can.
func (g *gate) leave(t *ticket) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.running, t)
	g.held -= t.bytes
	g.admitQueued()
}

func (g *gate) fits(t *ticket) bool {
	return len(g.running) < g.maxCalls && g.held+t.bytes <= g.budget
}

func (g *gate) admit(t *ticket) {
	g.running[t] = struct{}{}
	g.held += t.bytes
}

// admitQueued admits queued tickets in order while the first one fits.
func (g *gate) admitQueued() {
	for len(g.queue) > 0 && g.fits(g.queue[0]) {
		t := g.queue[0]
		g.queue = g.queue[1:]
		g.admit(t)
		close(t.ready)
	}
}

// retryAfter is the time until the first running call must end, in whole
// seconds (as Retry-After carries it), at least one.
func (g *gate) retryAfter() time.Duration {
	first := time.Time{}
	for t := range g.running {
		if first.IsZero() || t.deadline.Before(first) {
			first = t.deadline
		}
	}
	wait := time.Until(first).Round(time.Second)
	return max(wait, time.Second)
}

// defaultMaxCalls: a call is CPU-bound or waits on the network; four per
// core keeps cores busy through network waits, while more would only make
// CPU-bound calls share cores until they all miss their deadlines.
func defaultMaxCalls() int { return 4 * runtime.GOMAXPROCS(0) }

// defaultMemoryBudget is half the memory this process may use: the rest is
// for the service itself and the garbage collector's headroom (linear
// memory is Go heap).
func defaultMemoryBudget() uint64 { return memoryLimit() / 2 }

// memoryLimit is the least of GOMEMLIMIT, the cgroup's memory limit and
// the machine's memory, of those that are set and readable (4 GiB if none).
func memoryLimit() uint64 {
	limit := uint64(math.MaxUint64)
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		limit = uint64(l)
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if l, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && l > 0 {
			limit = min(limit, l)
		}
	}
	limit = min(limit, physicalMemory())
	if limit == math.MaxUint64 {
		return 4 << 30
	}
	return limit
}

// physicalMemory reads MemTotal from /proc/meminfo (MaxUint64 if it cannot).
func physicalMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return math.MaxUint64
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if kb, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(kb, "kB")), 10, 64); err == nil {
				return n << 10
			}
		}
	}
	return math.MaxUint64
}
