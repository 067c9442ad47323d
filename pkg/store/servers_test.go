package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestServers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, other := customer(t, s), customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		if srv.Version != 1 || srv.ID == "" {
			t.Fatalf("created %+v", srv)
		}
		got, err := s.Server(ctx, c.ID, srv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.AllowedHosts, srv.AllowedHosts) || got.Version != 1 {
			t.Fatalf("got %+v", got)
		}
		// Another customer does not see it.
		_, err = s.Server(ctx, other.ID, srv.ID)
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.DeleteServer(ctx, other.ID, srv.ID), store.ErrNotFound)
		hijack := got
		hijack.CustomerID = other.ID
		wantErr(t, s.UpdateServer(ctx, &hijack), store.ErrNotFound)

		dup := store.Server{CustomerID: c.ID, Name: "weather"}
		wantErr(t, s.CreateServer(ctx, &dup, unlimited), store.ErrConflict)
		newServer(t, s, other.ID, "weather") // names are per customer

		if got.RecordPayloads {
			t.Fatal("a new server records payloads")
		}
		got.Description, got.AllowedHosts, got.RecordPayloads = "forecasts", nil, true
		if err := s.UpdateServer(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 {
			t.Fatalf("version %d after one update", got.Version)
		}
		again, err := s.ServerByID(ctx, srv.ID)
		if err != nil || again.Description != "forecasts" || len(again.AllowedHosts) != 0 || again.Version != 2 || !again.RecordPayloads {
			t.Fatalf("after update %+v, %v", again, err)
		}
		// srv still holds version 1: a stale write.
		srv.Description = "stale"
		err = s.UpdateServer(ctx, &srv)
		wantErr(t, err, store.ErrConflict)
		if srv.Version != 1 {
			t.Fatal("a failed update advanced the version")
		}

		if list, err := s.ListServers(ctx, c.ID); err != nil || len(list) != 1 {
			t.Fatalf("list %+v, %v", list, err)
		}
		if err := s.DeleteServer(ctx, c.ID, srv.ID); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.UpdateServer(ctx, &got), store.ErrNotFound)
	})
}

// TestServerUpdateRace: several requests read the same server and save
// their edit at once. Exactly one wins; the others get ErrConflict and the
// stored server is the winner's edit.
func TestServerUpdateRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		const n = 8
		errs := make([]error, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			edit := srv // each request read version 1
			edit.Description = fmt.Sprintf("edit %d", i)
			wg.Go(func() {
				start.Wait()
				errs[i] = s.UpdateServer(t.Context(), &edit)
			})
		}
		start.Done()
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("updates %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("update %d: %v, want a conflict", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no update won")
		}
		got, err := s.Server(t.Context(), c.ID, srv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || got.Description != fmt.Sprintf("edit %d", winner) {
			t.Fatalf("stored %+v, want the edit of %d at version 2", got, winner)
		}
	})
}

// TestCreateServerLimit: the limit check sees the current count, its error
// comes back as is, and concurrent creations cannot overshoot it.
func TestCreateServerLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := customer(t, s)
		errFull := errors.New("full")
		const max = 3
		atMost := func(current int) error {
			if current >= max {
				return errFull
			}
			return nil
		}
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				srv := store.Server{CustomerID: c.ID, Name: fmt.Sprintf("s%d", i)}
				errs[i] = s.CreateServer(t.Context(), &srv, atMost)
			})
		}
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, errFull):
				t.Fatalf("create %d: %v", i, err)
			}
		}
		count, err := s.CountServers(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if created != max || count != max {
			t.Fatalf("created %d, stored %d, limit %d", created, count, max)
		}
		if err := s.CreateServer(t.Context(), &store.Server{CustomerID: c.ID, Name: "x"}, nil); err == nil {
			t.Fatal("a server was created without a limit check")
		}
		wantErr(t, s.CreateServer(t.Context(), &store.Server{CustomerID: "cus_missing", Name: "x"}, unlimited), store.ErrNotFound)
	})
}
