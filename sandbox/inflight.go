package sandbox

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is the error of a call made after Engine.Close began.
var ErrClosed = errors.New("sandbox: the engine is closed")

// inflight counts the calls running module code, so that Close can stop
// them and wait for them before it closes the runtime they run in: wazero
// does not support closing a runtime under a running function (the race
// detector sees the module's state torn down under the call).
type inflight struct {
	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup
}

// enterCall admits a call unless Close has begun, and returns its context,
// cancelled when Close begins (the call then stops at its next fuel
// check), and the function that ends it.
func (e *Engine) enterCall(ctx context.Context) (context.Context, func(), error) {
	e.inflight.mu.Lock()
	if e.inflight.closed {
		e.inflight.mu.Unlock()
		return ctx, nil, ErrClosed
	}
	e.inflight.calls.Add(1) // under mu: never after stopCalls began to wait
	e.inflight.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(e.bgCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
		e.inflight.calls.Done()
	}, nil
}

// stopCalls refuses new calls and waits for those in flight, which
// e.bgCtx's end has cancelled.
func (e *Engine) stopCalls() {
	e.inflight.mu.Lock()
	e.inflight.closed = true
	e.inflight.mu.Unlock()
	e.inflight.calls.Wait()
}
