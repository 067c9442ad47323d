package store_test

import (
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestHasUsers: an instance is new until its first user, with or without
// customers.
func TestHasUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		if has, err := s.HasUsers(ctx); err != nil || has {
			t.Fatalf("HasUsers with a customer and no user = %v, %v", has, err)
		}
		for range 2 {
			u := store.User{CustomerID: c.ID, Role: store.RoleOwner}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			if has, err := s.HasUsers(ctx); err != nil || !has {
				t.Fatalf("HasUsers with users = %v, %v", has, err)
			}
		}
	})
}
