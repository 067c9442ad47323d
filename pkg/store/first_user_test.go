package store_test

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestFirstUserOnce: of concurrent first accounts exactly one is created;
// the others get ErrNotFresh (an ErrConflict) and leave nothing behind.
func TestFirstUserOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const n = 24
		errs := make([]error, n)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range n {
			done.Go(func() {
				start.Wait()
				errs[i] = s.FirstUser(ctx, func(tx *store.Store) error { return createOwner(ctx, tx) })
			})
		}
		start.Done()
		done.Wait()
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrNotFresh) || !errors.Is(err, store.ErrConflict):
				t.Errorf("a losing first account: %v, want ErrNotFresh", err)
			}
		}
		if created != 1 {
			t.Errorf("%d first accounts created, want 1", created)
		}
		if cs, err := s.ListCustomers(ctx); err != nil || len(cs) != 1 {
			t.Errorf("customers after the race: %d, %v; want 1", len(cs), err)
		}
	})
}

// TestFirstUserWaitsOnPostgres: a second first account started while the
// first one's transaction is open waits for it (its lock on users is not
// granted) and then finds the instance taken. Without the lock it would
// see no user, since the first is not committed, and create a second
// owner. (On SQLite the write lock taken at BEGIN serializes them.)
func TestFirstUserWaitsOnPostgres(t *testing.T) {
	u, ok := storetest.PostgresURL(t)
	if !ok {
		t.Skip(storetest.EnvURL + " is not set")
	}
	ctx := t.Context()
	s, err := store.Open(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	watch, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	second := make(chan error, 1)
	first := s.FirstUser(ctx, func(tx *store.Store) error {
		if err := createOwner(ctx, tx); err != nil {
			return err
		}
		go func() { second <- s.FirstUser(ctx, func(tx *store.Store) error { return createOwner(ctx, tx) }) }()
		// Until the second has finished (the bug) or waits for the lock.
		for {
			select {
			case err := <-second:
				second <- err
				return nil
			default:
			}
			var waiting int
			if err := watch.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'users'::regclass`).Scan(&waiting); err != nil {
				return err
			}
			if waiting > 0 {
				return nil
			}
			runtime.Gosched()
		}
	})
	if first != nil {
		t.Fatalf("the first account: %v", first)
	}
	if err := <-second; !errors.Is(err, store.ErrNotFresh) {
		t.Errorf("the second account, started while the first was open: %v, want ErrNotFresh", err)
	}
}

func createOwner(ctx context.Context, tx *store.Store) error {
	c := store.Customer{Name: "first", Tier: "free"}
	if err := tx.CreateCustomer(ctx, &c); err != nil {
		return err
	}
	return tx.CreateUser(ctx, &store.User{CustomerID: c.ID, Role: store.RoleOwner})
}
