package mcphost

import (
	"context"

	"github.com/kilnhq/kiln/pkg/store"
)

// GateExecutionLog makes every write of h's execution log report on
// entered (when it has room) and wait until gate is closed, so that a test
// can hold a call's row before its commit. Set it before the first call.
func GateExecutionLog(h *Host, entered chan<- struct{}, gate <-chan struct{}) {
	write := h.execs.write
	h.execs.write = func(ctx context.Context, es []*store.Execution) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
		return write(ctx, es)
	}
}
