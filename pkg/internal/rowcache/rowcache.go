// Package rowcache keeps rows read from the store in a bounded LRU that a
// change notification can empty. It serves the MCP path's caches of API
// keys (pkg/apikey) and customers' plans (pkg/mcphost), which differ only in
// what they load and which rows a change affects.
//
// A fill and an invalidation can race: a row read just before a change is
// announced would be added just after it and live until its TTL. So every
// invalidation bumps a generation, and a row read under an older generation
// is returned to its caller but not kept.
package rowcache

import (
	"context"
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache holds up to a fixed number of values by key, least recently used
// out first, each trusted for a TTL measured on the monotonic clock (no
// stored time is compared with it).
type Cache[V any] struct {
	ttl time.Duration

	mu      sync.Mutex // orders invalidations against fills
	gen     uint64
	entries *lru.Cache[string, entry[V]]
}

type entry[V any] struct {
	value  V
	expiry time.Time // zero: never
}

// New returns an empty cache of at most size values, each kept for ttl
// (zero or negative: until evicted or forgotten).
func New[V any](size int, ttl time.Duration) (*Cache[V], error) {
	entries, err := lru.New[string, entry[V]](size)
	if err != nil {
		return nil, fmt.Errorf("rowcache: %w", err)
	}
	return &Cache[V]{ttl: ttl, entries: entries}, nil
}

// Get returns key's value, calling load when the cache has none or its
// TTL has passed. Errors are not cached, and neither is a value loaded
// while an invalidation happened.
func (c *Cache[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	if e, ok := c.entries.Get(key); ok && (e.expiry.IsZero() || time.Now().Before(e.expiry)) {
		return e.value, nil
	}
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	e := entry[V]{value: v}
	if c.ttl > 0 {
		e.expiry = time.Now().Add(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.entries.Add(key, e)
	}
	return v, nil
}

// Update replaces key's value with f of it, if the cache holds one, keeping
// its expiry: for a change this node made and knows the outcome of.
func (c *Cache[V]) Update(key string, f func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries.Peek(key); ok {
		e.value = f(e.value)
		c.entries.Add(key, e)
	}
}

// Forget drops every value match selects.
func (c *Cache[V]) Forget(match func(key string, v V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range c.entries.Keys() {
		if e, ok := c.entries.Peek(k); ok && match(k, e.value) {
			c.entries.Remove(k)
		}
	}
}

// Purge drops everything: for when notifications may have been missed.
func (c *Cache[V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries.Purge()
}

// Len is how many values the cache holds.
func (c *Cache[V]) Len() int { return c.entries.Len() }
