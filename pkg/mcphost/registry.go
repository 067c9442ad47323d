package mcphost

import (
	"crypto/rand"
	"strings"
	"sync"
	"sync/atomic"
)

// registry maps server IDs to their live deployments. Reads are a lock-free
// map lookup on every request; writes (deploys, removals) copy the map,
// which is cheap next to compiling a module and keeps readers wait-free.
type registry struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[string]*deployment]
}

func newRegistry() *registry {
	r := &registry{}
	empty := map[string]*deployment{}
	r.m.Store(&empty)
	return r
}

func (r *registry) get(id string) *deployment { return (*r.m.Load())[id] }

// put installs d and returns the deployment it replaced, if any.
func (r *registry) put(d *deployment) *deployment {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.m.Load()
	next := make(map[string]*deployment, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	prev := next[d.srv.ID]
	next[d.srv.ID] = d
	r.m.Store(&next)
	return prev
}

// remove drops a server and reports whether it was there.
func (r *registry) remove(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.m.Load()
	if _, ok := old[id]; !ok {
		return false
	}
	next := make(map[string]*deployment, len(old))
	for k, v := range old {
		if k != id {
			next[k] = v
		}
	}
	r.m.Store(&next)
	return true
}

// ids lists the deployed servers.
func (r *registry) ids() []string {
	m := *r.m.Load()
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return out
}

// keyedMutex serializes work on one key (a server) without serializing
// different keys: two reloads of one server then apply in the order they
// read the database, so an older state never replaces a newer one.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// newNodeID names this process in notifications.
func newNodeID() string { return "node_" + strings.ToLower(rand.Text()[:12]) }

// Serving reports whether this node currently serves a server: for
// operators checking a node, and for tests of convergence.
func (h *Host) Serving(serverID string) bool { return h.reg.get(serverID) != nil }
