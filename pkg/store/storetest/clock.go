package storetest

import (
	"sync"
	"time"
)

// Clock is a clock a test moves by hand. Give Now to store.Store.WithClock:
// every package that reads the store's clock (sessions, OAuth, API keys,
// MCP) then sees each move at once.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d and returns a function that moves it back.
func (c *Clock) Add(d time.Duration) (undo func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return func() { c.Add(-d) }
}
