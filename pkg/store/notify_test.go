package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

var errRollback = errors.New("roll back")

// TestNotify: a notification reaches a listener (on PostgreSQL on another
// connection, on SQLite in the same process), only on its topic, and one
// sent inside a rolled-back transaction is never delivered; the channel
// closes when the listener's context ends.
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
		select {
		case n := <-notes:
			if n.Payload != "hello" || n.Reconnected {
				t.Fatalf("got %+v, want the one notification of the topic", n)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no notification")
		}
		cancel()
		for n := range notes {
			t.Fatalf("unexpected notification %+v", n)
		}
	})
}

// TestAccessNotifications: each store method that takes access away or
// changes a plan announces it on store.AccessTopic once it commits, with a
// payload ParseAccessChange reads back.
func TestAccessNotifications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		notes, err := s.Listen(ctx, store.AccessTopic, nil)
		if err != nil {
			t.Fatal(err)
		}
		next := func(want store.AccessChange) {
			t.Helper()
			select {
			case n := <-notes:
				got, ok := store.ParseAccessChange(n.Payload)
				if !ok || got != want {
					t.Fatalf("got %+v (%q), want %+v", got, n.Payload, want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no notification for %+v", want)
			}
		}
		c := customer(t, s)
		k := store.APIKey{CustomerID: c.ID, Name: "k", Prefix: "kiln_abc", Hash: store.HashAPIKey("kiln_x")}
		if err := s.CreateAPIKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(ctx, c.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		next(store.AccessChange{Kind: store.AccessKey, ID: k.ID})
		if err := s.DeleteAPIKey(ctx, c.ID, "key_unknown"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting an unknown key: %v", err)
		}
		if err := s.DeleteAPIKey(ctx, c.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		next(store.AccessChange{Kind: store.AccessKey, ID: k.ID}) // not the failed delete's
		if err := s.SetCustomerTier(ctx, c.ID, "pro"); err != nil {
			t.Fatal(err)
		}
		next(store.AccessChange{Kind: store.AccessCustomer, ID: c.ID})
		p := store.Plan{Name: "pro", Rank: 1, ServersPerCustomer: 10, ToolsPerServer: 20, Fuel: 1e9,
			MemoryBytes: 64 << 20, TimeoutMS: 10_000, OutputBytes: 1 << 20, HTTPRequestsPerCall: 10,
			CallsPerMinute: 600, LLMGenerationsPerDay: 100}
		if err := s.PutPlan(ctx, &p); err != nil {
			t.Fatal(err)
		}
		next(store.AccessChange{Kind: store.AccessPlan, ID: "pro"})
		srv := newServer(t, s, c.ID, "gone")
		if err := s.DeleteServer(ctx, c.ID, srv.ID); err != nil {
			t.Fatal(err)
		}
		next(store.AccessChange{Kind: store.AccessServer, ID: srv.ID})
		if _, ok := store.ParseAccessChange("nonsense"); ok {
			t.Fatal("an unknown payload parsed")
		}
	})
}
