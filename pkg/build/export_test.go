package build

import "context"

// CompileFunc is the compile step of a Pool.
type CompileFunc = func(context.Context, map[string][]byte) ([]byte, error)

// WrapCompile replaces p's compile step with wrap(the current step), so
// tests can count and instrument builds. Call it before p builds anything.
func WrapCompile(p *Pool, wrap func(CompileFunc) CompileFunc) { p.compile = wrap(p.compile) }

// Waiters returns how many callers wait on builds under way.
func Waiters(p *Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, f := range p.flights {
		n += f.waiters
	}
	return n
}

// Queued returns how many builds wait for a slot.
func Queued(p *Pool) int { return p.slots.waiting() }

// OwnedCacheMarker marks a GOCACHE as Kiln's (gocache.go).
const OwnedCacheMarker = ownedMarker
