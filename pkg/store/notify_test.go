package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/schema"
)

var errRollback = errors.New("roll back")

// TestNotify: on PostgreSQL a notification reaches a listener on another
// connection, only on its topic, and one sent inside a rolled-back
// transaction is never delivered; on SQLite (one node) nothing is delivered
// and the channel closes when the listener's context ends.
func TestNotify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		notes, err := s.Listen(ctx, "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *store.Store) error {
			if err := tx.Notify(ctx, "test", "rolled back"); err != nil {
				t.Fatal(err)
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		for _, n := range []struct{ topic, payload string }{{"other", "elsewhere"}, {"test", "hello"}} {
			if err := s.Notify(ctx, n.topic, n.payload); err != nil {
				t.Fatal(err)
			}
		}
		if s.Dialect() == schema.Postgres {
			select {
			case n := <-notes:
				if n.Payload != "hello" || n.Reconnected {
					t.Fatalf("got %+v, want the one notification of the topic", n)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no notification")
			}
		}
		cancel()
		for n := range notes {
			t.Fatalf("unexpected notification %+v", n)
		}
	})
}
