package build

import (
	"context"
	"errors"
	"time"
)

// PoolStats are what a Pool is doing now, for metrics.
type PoolStats struct {
	Running int // builds holding a worker
	Waiting int // builds queued for a worker: the queue depth
}

// Stats reads the pool's current load.
func (p *Pool) Stats() PoolStats {
	p.slots.mu.Lock()
	defer p.slots.mu.Unlock()
	running := 0
	for _, n := range p.slots.running {
		running += n
	}
	return PoolStats{Running: running, Waiting: p.slots.line.Len()}
}

// BuildOutcome names how a compile ended, for PoolConfig.OnBuild: "ok",
// "compile_error" (the source did not compile), "canceled" (every caller
// left or the deadline passed) or "error" (the toolchain failed).
func BuildOutcome(err error) string {
	var compileErr *Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &compileErr):
		return "compile_error"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// observeBuild reports one compile to the pool's OnBuild hook.
func (p *Pool) observeBuild(d time.Duration, err error) {
	if p.onBuild != nil {
		p.onBuild(d, BuildOutcome(err))
	}
}
