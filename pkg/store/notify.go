package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/kilnhq/kiln/schema"
)

// How nodes sharing a database tell each other that something changed. On
// PostgreSQL, Notify is NOTIFY and Listen is LISTEN on a dedicated
// connection (lib/pq's Listener, which reconnects by itself). NOTIFY reaches
// only connected listeners, so a listener that reconnected says so (a
// Notification with Reconnected set) and the caller must assume it missed
// some. On SQLite there is one node, but its services still tell each
// other: Notify delivers to the listeners of the same process (Stores made
// by one Open), after the commit when sent inside InTx (localbus.go).

// Notification is a message another node (or this one) sent with Notify.
type Notification struct {
	Payload string
	// Reconnected reports that the listening connection was lost and
	// re-established: notifications sent meanwhile are gone.
	Reconnected bool
}

// channelPrefix starts every channel name; the topic and the database
// schema complete it, so deployments (and parallel tests) sharing one
// PostgreSQL database in different schemas do not hear each other.
const channelPrefix = "kiln_"

// channel names topic's channel within PostgreSQL's 63-byte identifiers.
func (s *Store) channel(topic string) string {
	name := channelPrefix + topic + "_" + s.pgSchema
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(topic + "\x00" + s.pgSchema))
	return channelPrefix + hex.EncodeToString(sum[:16])
}

// Notify sends payload to every listener of topic, this node's included.
// Inside InTx it is sent when the transaction commits, and not at all if it
// rolls back.
func (s *Store) Notify(ctx context.Context, topic, payload string) error {
	if s.dialect != schema.Postgres {
		if s.afterCommit != nil {
			*s.afterCommit = append(*s.afterCommit, func() { s.local.publish(topic, payload) })
		} else {
			s.local.publish(topic, payload)
		}
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channel(topic), payload); err != nil {
		return fmt.Errorf("store: notify %s: %w", topic, err)
	}
	return nil
}

// Listen delivers topic's notifications until ctx ends, when the channel
// is closed. It returns once listening has begun, so that nothing sent
// after it returns is missed (unless the connection drops, which a
// Notification with Reconnected reports). onError, when not nil, hears
// every connection problem of the listener (a node that cannot reconnect
// must say so, not fall silent).
func (s *Store) Listen(ctx context.Context, topic string, onError func(error)) (<-chan Notification, error) {
	out := make(chan Notification, 16)
	if s.dialect != schema.Postgres {
		s.local.listen(ctx, topic, out)
		return out, nil
	}
	l := pq.NewListener(s.url, 100*time.Millisecond, 10*time.Second, func(_ pq.ListenerEventType, err error) {
		if err != nil && onError != nil {
			onError(err)
		}
	})
	// Listen blocks until connected: do not let it outlive ctx.
	listened := make(chan error, 1)
	go func() { listened <- l.Listen(s.channel(topic)) }()
	select {
	case err := <-listened:
		if err != nil {
			return nil, fmt.Errorf("store: listen %s: %w", topic, errors.Join(err, l.Close()))
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("store: listen %s: %w", topic, errors.Join(ctx.Err(), l.Close()))
	}
	go forward(ctx, l, out)
	return out, nil
}

// forward copies the listener's notifications to out until ctx ends. lib/pq
// sends nil on the notification channel after a reconnection.
func forward(ctx context.Context, l *pq.Listener, out chan<- Notification) {
	defer close(out)
	defer l.Close()
	for {
		var n Notification
		select {
		case <-ctx.Done():
			return
		case pn := <-l.NotificationChannel():
			if pn == nil {
				n.Reconnected = true
			} else {
				n.Payload = pn.Extra
			}
		}
		select {
		case out <- n:
		case <-ctx.Done():
			return
		}
	}
}
