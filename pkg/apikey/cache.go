package apikey

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/internal/rowcache"
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
	keys  *rowcache.Cache[store.APIKey] // by the key's SHA-256
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
func NewCache(st *store.Store, cfg CacheConfig) (*Cache, error) {
	if cfg.Size <= 0 {
		cfg.Size = DefaultCacheSize
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultCacheTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	keys, err := rowcache.New[store.APIKey](cfg.Size, cfg.TTL)
	if err != nil {
		return nil, fmt.Errorf("apikey: %w", err)
	}
	return &Cache{store: st, log: cfg.Logger, keys: keys}, nil
}

// Check is Check, with the row from the cache when it holds one.
func (c *Cache) Check(ctx context.Context, token string) (store.APIKey, error) {
	if !strings.HasPrefix(token, Prefix) {
		return store.APIKey{}, ErrInvalid
	}
	hash := store.HashAPIKey(token)
	id := string(hash)
	row, err := c.keys.Get(ctx, id, func(ctx context.Context) (store.APIKey, error) { return lookup(ctx, c.store, hash) })
	if err != nil {
		return store.APIKey{}, err
	}
	key, err := verify(ctx, c.store, c.log, row)
	if err == nil && key.LastUsedAt != row.LastUsedAt {
		c.keys.Update(id, func(k store.APIKey) store.APIKey { k.LastUsedAt = key.LastUsedAt; return k })
	}
	return key, err
}

// Forget drops the keys a change may affect: the key, the customer's keys
// or the server's. A plan change affects no key. Call it for every
// store.AccessTopic notification.
func (c *Cache) Forget(ch store.AccessChange) {
	c.keys.Forget(func(_ string, k store.APIKey) bool {
		switch ch.Kind {
		case store.AccessKey:
			return k.ID == ch.ID
		case store.AccessCustomer:
			return k.CustomerID == ch.ID
		case store.AccessServer:
			return k.ServerID != nil && *k.ServerID == ch.ID
		}
		return false
	})
}

// Purge drops every key: for when notifications may have been missed.
func (c *Cache) Purge() { c.keys.Purge() }

// Len is how many keys the cache holds.
func (c *Cache) Len() int { return c.keys.Len() }
