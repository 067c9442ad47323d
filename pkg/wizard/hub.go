package wizard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// hub wakes this node's event streams when a session changes here. Changes
// made on other nodes are seen by the streams' polling.
type hub struct {
	mu    sync.Mutex
	waits map[string]chan struct{}
}

func newHub() *hub { return &hub{waits: map[string]chan struct{}{}} }

// wait returns a channel closed at the session's next change.
func (h *hub) wait(id string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.waits[id]
	if !ok {
		ch = make(chan struct{})
		h.waits[id] = ch
	}
	return ch
}

func (h *hub) notify(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.waits[id]; ok {
		close(ch)
		delete(h.waits, id)
	}
}

// Event is one step of a session's progress as the stream sends it.
type Event = store.WizardEvent

// streamPoll is how often a stream looks for changes made on other nodes.
const streamPoll = 2 * time.Second

// eventBatch bounds the events read at once.
const eventBatch = 200

// Stream sends the session's events numbered after after, in order, then
// every new one as it happens, until the session rests (no work in
// progress and every event sent), ctx ends or the stream reached
// Config.StreamMax. A client reconnecting with the last id it saw misses
// nothing: events are stored with the changes they report.
func (w *Wizard) Stream(ctx context.Context, customerID, id string, after int64, send func(Event) error) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.StreamMax)
	defer cancel()
	for {
		// Subscribe before reading, so a change between the read and the
		// wait is not missed.
		woken := w.hub.wait(id)
		s, err := w.Get(ctx, customerID, id)
		if err != nil {
			return err
		}
		evs, err := w.cfg.Store.WizardEvents(ctx, customerID, id, after, eventBatch)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := send(e); err != nil {
				return fmt.Errorf("wizard: sending an event: %w", err)
			}
			after = e.Seq
		}
		if len(evs) == eventBatch {
			continue
		}
		if !s.State.working() {
			return nil
		}
		t := time.NewTimer(streamPoll)
		select {
		case <-woken:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil // the client reconnects with Last-Event-ID
			}
			return err
		}
	}
}
