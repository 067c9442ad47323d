package store

import (
	"context"
	"sync"
)

// localBus delivers notifications within one process, for SQLite: one node
// serves the database, but its services still need to hear each other's
// changes (a key revoked through the API must reach the MCP host's cache).
// Every Store made from one Open shares it.
type localBus struct {
	mu        sync.Mutex
	listeners map[*localListener]struct{}
}

// localQueueMax bounds what one slow listener may have waiting. Past it
// the queue is replaced by one Reconnected notification: the listener
// must assume it missed some, as after a lost PostgreSQL connection.
const localQueueMax = 1024

type localListener struct {
	topic string
	mu    sync.Mutex
	queue []Notification
	wake  chan struct{} // capacity 1: something was queued
}

func newLocalBus() *localBus { return &localBus{listeners: map[*localListener]struct{}{}} }

// publish queues payload for every listener of topic. It never blocks.
func (b *localBus) publish(topic, payload string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for l := range b.listeners {
		if l.topic != topic {
			continue
		}
		l.mu.Lock()
		if len(l.queue) >= localQueueMax {
			l.queue = append(l.queue[:0], Notification{Reconnected: true})
		} else {
			l.queue = append(l.queue, Notification{Payload: payload})
		}
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// listen registers a listener of topic and forwards its notifications to
// out until ctx ends, then closes out.
func (b *localBus) listen(ctx context.Context, topic string, out chan<- Notification) {
	l := &localListener{topic: topic, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	b.listeners[l] = struct{}{}
	b.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			b.mu.Lock()
			delete(b.listeners, l)
			b.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-l.wake:
			}
			l.mu.Lock()
			batch := l.queue
			l.queue = nil
			l.mu.Unlock()
			for _, n := range batch {
				select {
				case out <- n:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
}
