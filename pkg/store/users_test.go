package store_test

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestUsersAndIdentities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		u := store.User{CustomerID: c.ID, Email: "ada@example.com", DisplayName: "Ada", Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		bad := store.User{CustomerID: c.ID, Email: "x@example.com", Role: "root"}
		if err := s.CreateUser(ctx, &bad); err == nil {
			t.Fatal("a user with an unknown role was stored")
		}

		id := store.Identity{Provider: "https://accounts.example.com", Subject: "1234", UserID: u.ID, Email: u.Email}
		if err := s.LinkIdentity(ctx, &id); err != nil {
			t.Fatal(err)
		}
		// The same login cannot sign in as two users.
		other := store.User{CustomerID: c.ID, Email: "bob@example.com", Role: store.RoleMember}
		if err := s.CreateUser(ctx, &other); err != nil {
			t.Fatal(err)
		}
		dup := store.Identity{Provider: id.Provider, Subject: id.Subject, UserID: other.ID}
		wantErr(t, s.LinkIdentity(ctx, &dup), store.ErrConflict)

		got, err := s.UserByIdentity(ctx, id.Provider, id.Subject)
		if err != nil || got.ID != u.ID || got.Operator {
			t.Fatalf("got %+v, %v", got, err)
		}
		_, err = s.UserByIdentity(ctx, id.Provider, "other")
		wantErr(t, err, store.ErrNotFound)

		login := time.Now()
		if err := s.TouchIdentity(ctx, id.Provider, id.Subject, login); err != nil {
			t.Fatal(err)
		}
		ids, err := s.ListIdentities(ctx, u.ID)
		if err != nil || len(ids) != 1 || ids[0].LastLoginAt == nil || !ids[0].LastLoginAt.Equal(login.Truncate(time.Microsecond)) {
			t.Fatalf("identities %+v, %v", ids, err)
		}

		u.Operator, u.DisplayName = true, "Ada L."
		if err := s.UpdateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if got, err := s.User(ctx, u.ID); err != nil || !got.Operator || got.DisplayName != "Ada L." {
			t.Fatalf("after update %+v, %v", got, err)
		}
		if list, err := s.ListUsers(ctx, c.ID); err != nil || len(list) != 2 {
			t.Fatalf("users %+v, %v", list, err)
		}

		if err := s.UnlinkIdentity(ctx, u.ID, id.Provider, id.Subject); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.UnlinkIdentity(ctx, u.ID, id.Provider, id.Subject), store.ErrNotFound)
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.User(ctx, u.ID)
		wantErr(t, err, store.ErrNotFound)
	})
}
