package sandbox

import (
	"container/list"

	"github.com/tetratelabs/wazero"
)

// compiledLRU keeps the most recently used compiled modules in memory.
// Entries are reference counted: an evicted module is closed only when the
// last call using it has finished. Callers hold the engine's lock.
type compiledLRU struct {
	capacity int
	order    *list.List // front = most recent; values are *compiledEntry
	byHash   map[string]*list.Element
}

type compiledEntry struct {
	hash     string
	compiled wazero.CompiledModule
	refs     int
	evicted  bool
	lru      *compiledLRU   // the LRU it belongs to (compiled or interpreted)
	rt       wazero.Runtime // the runtime that compiled it, which instantiates it
}

func newCompiledLRU(capacity int) *compiledLRU {
	return &compiledLRU{capacity: capacity, order: list.New(), byHash: map[string]*list.Element{}}
}

// acquire returns the entry for hash with one more reference.
func (c *compiledLRU) acquire(hash string) (*compiledEntry, bool) {
	el, ok := c.byHash[hash]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	e := el.Value.(*compiledEntry)
	e.refs++
	return e, true
}

// add inserts a compiled module with one reference held by the caller and
// returns the modules that are now unreferenced and evicted, for the caller
// to close.
func (c *compiledLRU) add(hash string, compiled wazero.CompiledModule) (*compiledEntry, []wazero.CompiledModule) {
	e := &compiledEntry{hash: hash, compiled: compiled, refs: 1, lru: c}
	c.byHash[hash] = c.order.PushFront(e)
	var closable []wazero.CompiledModule
	for c.order.Len() > c.capacity {
		old := c.order.Remove(c.order.Back()).(*compiledEntry)
		delete(c.byHash, old.hash)
		old.evicted = true
		if old.refs == 0 {
			closable = append(closable, old.compiled)
		}
	}
	return e, closable
}

// release drops a reference and reports whether the module must now be closed.
func (c *compiledLRU) release(e *compiledEntry) (closeNow bool) {
	e.refs--
	return e.refs == 0 && e.evicted
}
