package sandbox

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// exhausted is what the watchdog writes into the fuel counter: negative, so
// the next check traps, and far enough from math.MinInt64 that the guest's
// own decrements cannot wrap it around to positive.
const exhaustedValue int64 = math.MinInt64 / 2

type stopReason int

const (
	running stopReason = iota
	deadline
	canceled
)

// meter is one call's fuel counter: a mutable i64 global in the instance
// that the guest decrements natively, the host functions charge, and the
// watchdog empties when the call must stop.
//
// Memory model: the guest's accesses are machine code outside Go's memory
// model, so the race between the guest and the watchdog is resolved by the
// hardware: the counter is an aligned 64-bit word, whose loads and stores
// are single-copy atomic on amd64 and arm64, and cache coherence makes the
// watchdog's store visible to the guest's next load. The guest reads the
// counter from memory at every check. Its read-modify-write can overwrite a
// watchdog store (a lost update), so the watchdog stores again every
// millisecond until the call returns. Go-side accesses (watchdog, host
// functions) are serialized by mu.
type meter struct {
	mu      sync.Mutex
	global  api.MutableGlobal
	given   int64
	reason  stopReason
	leftAt  int64 // the counter when the watchdog first fired
	stopped bool
}

func newMeter(global api.MutableGlobal, fuel uint64) *meter {
	given := int64(min(fuel, math.MaxInt64/2))
	global.Set(uint64(given))
	return &meter{global: global, given: given}
}

// charge takes fuel for work the host does on the guest's behalf. Going
// negative traps at the guest's next check.
func (m *meter) charge(units int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stopped {
		m.global.Set(uint64(int64(m.global.Get()) - units))
	}
}

// stop empties the counter, remembering why and how much was left.
func (m *meter) stop(reason stopReason) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stopped {
		m.stopped, m.reason, m.leftAt = true, reason, int64(m.global.Get())
	}
	empty := exhaustedValue // a variable: a negative constant cannot convert to uint64
	m.global.Set(uint64(empty))
}

// watch stops the call at its deadline or when ctx ends, until done closes.
func (m *meter) watch(ctx context.Context, timeout time.Duration, done <-chan struct{}) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var reason stopReason
	select {
	case <-done:
		return
	case <-timer.C:
		reason = deadline
	case <-ctx.Done():
		reason = canceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = deadline
		}
	}
	m.stop(reason)
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-done:
			return
		case <-ticker.C:
			m.stop(reason)
		}
	}
}

// result reports why the call was stopped (running if it was not), whether
// it ran out of fuel, and the fuel used.
func (m *meter) result() (reason stopReason, outOfFuel bool, used uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	left := int64(m.global.Get())
	if m.stopped {
		left = m.leftAt
	}
	used = uint64(m.given - max(0, min(left, m.given)))
	return m.reason, !m.stopped && left < 0, used
}

// slots bounds how many guests run at once. A guest executing machine code
// holds its OS thread and its P (Go cannot preempt JIT code), so with
// GOMAXPROCS guests running, the watchdog's timer could never fire. Keeping
// one P free guarantees it does.
type slots chan struct{}

func (s slots) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s slots) release() { <-s }
