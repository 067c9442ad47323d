package apikey

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/kilnhq/kiln/pkg/store"
)

// Cache is Check with the store's row of each key kept in memory, for the
// MCP path, where a lookup per call cost more than the call. Only the
// lookup is cached: every use still passes the same rules as Check
// (revoked, expired at the store's clock now, last use recorded).
//
// Staleness. A key revoked or deleted (or its server or customer deleted)
// must stop working on every node: the store announces each such change
// (store.AccessTopic), and whoever listens calls Forget, or Purge when
// notifications may have been lost. Entries also expire after TTL, which
// bounds how long a change the store did not announce (SQL by hand) or a
// lost notification can go unseen.
//
// Memory. At most Size keys are kept, least recently used out first. A
// token no key has is never cached, so guessing tokens fills nothing.
type Cache struct {
	store *store.Store
	log   *slog.Logger
	ttl   time.Duration

	// mu orders invalidations against fills: gen counts invalidations, and
	// a row read before one is not added after it (it may be the old row).
	mu   sync.Mutex
	gen  uint64
	keys *lru.Cache[string, cachedKey] // by the key's SHA-256
}

type cachedKey struct {
	key    store.APIKey
	expiry time.Time // monotonic; zero: never
}

// CacheConfig sizes a Cache. The zero value means the defaults.
type CacheConfig struct {
	// Size bounds the keys kept (default DefaultCacheSize).
	Size int
	// TTL is how long a row is trusted without notice of a change
	// (default DefaultCacheTTL; negative: until evicted or forgotten).
	TTL time.Duration
	// Logger: nil means slog.Default().
	Logger *slog.Logger
}

// Defaults of CacheConfig.
const (
	DefaultCacheSize = 10_000
	DefaultCacheTTL  = 30 * time.Second
)

// NewCache returns an empty cache of st's keys.
func NewCache(st *store.Store, cfg CacheConfig) *Cache {
	if cfg.Size <= 0 {
		cfg.Size = DefaultCacheSize
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultCacheTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	keys, err := lru.New[string, cachedKey](cfg.Size)
	if err != nil {
		panic("apikey: lru.New refused a positive size: " + err.Error()) // cannot happen
	}
	return &Cache{store: st, log: cfg.Logger, ttl: cfg.TTL, keys: keys}
}

// Check is Check, with the row from the cache when it holds one.
func (c *Cache) Check(ctx context.Context, token string) (store.APIKey, error) {
	if !strings.HasPrefix(token, Prefix) {
		return store.APIKey{}, ErrInvalid
	}
	hash := store.HashAPIKey(token)
	id := string(hash)
	e, ok := c.keys.Get(id)
	if !ok || (!e.expiry.IsZero() && !time.Now().Before(e.expiry)) {
		c.mu.Lock()
		gen := c.gen
		c.mu.Unlock()
		key, err := lookup(ctx, c.store, hash)
		if err != nil {
			return store.APIKey{}, err
		}
		e = cachedKey{key: key}
		if c.ttl > 0 {
			e.expiry = time.Now().Add(c.ttl)
		}
		c.put(id, gen, e)
	}
	before := e.key.LastUsedAt
	key, err := verify(ctx, c.store, c.log, e.key)
	if err == nil && key.LastUsedAt != before {
		c.touched(id, key.LastUsedAt)
	}
	return key, err
}

// put adds e unless an invalidation happened since gen was read.
func (c *Cache) put(id string, gen uint64, e cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.keys.Add(id, e)
	}
}

// touched records a key's new last use in its entry, if it still has one.
func (c *Cache) touched(id string, at *time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.keys.Peek(id); ok {
		e.key.LastUsedAt = at
		c.keys.Add(id, e)
	}
}

// Forget drops the keys a change may affect: the key, the customer's keys
// or the server's. A plan change affects no key. Call it for every
// store.AccessTopic notification.
func (c *Cache) Forget(ch store.AccessChange) {
	match := func(k store.APIKey) bool {
		switch ch.Kind {
		case store.AccessKey:
			return k.ID == ch.ID
		case store.AccessCustomer:
			return k.CustomerID == ch.ID
		case store.AccessServer:
			return k.ServerID != nil && *k.ServerID == ch.ID
		}
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range c.keys.Keys() {
		if e, ok := c.keys.Peek(id); ok && match(e.key) {
			c.keys.Remove(id)
		}
	}
}

// Purge drops every key: for when notifications may have been missed.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.keys.Purge()
}

// Len is how many keys the cache holds.
func (c *Cache) Len() int { return c.keys.Len() }
