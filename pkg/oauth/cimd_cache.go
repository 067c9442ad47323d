package oauth

import (
	"container/list"
	"sync"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// cimdCache keeps fetched Client ID Metadata Documents (as the client rows
// they describe) until their expiry, at most max of them: the least
// recently used entry makes room for a new one, so memory stays bounded
// however many document URLs clients name.
type cimdCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // of *cimdEntry, most recently used first
	entries map[string]*list.Element
}

type cimdEntry struct {
	client  store.OAuthClient
	expires time.Time
}

func newCIMDCache(max int) *cimdCache {
	return &cimdCache{max: max, order: list.New(), entries: map[string]*list.Element{}}
}

// get returns the unexpired entry for id. An expired entry is dropped.
func (c *cimdCache) get(id string, now time.Time) (store.OAuthClient, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[id]
	if !ok {
		return store.OAuthClient{}, false
	}
	e := el.Value.(*cimdEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, id)
		return store.OAuthClient{}, false
	}
	c.order.MoveToFront(el)
	return e.client, true
}

// put stores (or replaces) the entry for client.ID, evicting the least
// recently used entries beyond max.
func (c *cimdCache) put(client store.OAuthClient, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[client.ID]; ok {
		el.Value = &cimdEntry{client: client, expires: expires}
		c.order.MoveToFront(el)
		return
	}
	c.entries[client.ID] = c.order.PushFront(&cimdEntry{client: client, expires: expires})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cimdEntry).client.ID)
	}
}

// len is the number of entries held.
func (c *cimdCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
