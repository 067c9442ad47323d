package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestAPIKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		secret := "kiln_0123456789abcdefghijklmnopqrstuv"
		k := store.APIKey{CustomerID: c.ID, Name: "ci", Prefix: secret[:9], Hash: store.HashAPIKey(secret)}
		if err := s.CreateAPIKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
		got, err := s.APIKeyByHash(ctx, store.HashAPIKey(secret))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != k.ID || !bytes.Equal(got.Hash, k.Hash) || got.ServerID != nil || !got.Usable(time.Now()) {
			t.Fatalf("got %+v", got)
		}
		_, err = s.APIKeyByHash(ctx, store.HashAPIKey("kiln_wrong"))
		wantErr(t, err, store.ErrNotFound)

		// The same key cannot be stored twice, and a hash must be a hash.
		again := store.APIKey{CustomerID: c.ID, Prefix: "kiln_0123", Hash: store.HashAPIKey(secret)}
		wantErr(t, s.CreateAPIKey(ctx, &again), store.ErrConflict)
		raw := store.APIKey{CustomerID: c.ID, Prefix: "kiln_0123", Hash: []byte(secret)}
		if err := s.CreateAPIKey(ctx, &raw); err == nil {
			t.Fatal("an unhashed key was stored")
		}

		if err := s.TouchAPIKey(ctx, k.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		// Another customer cannot revoke it.
		other := customer(t, s)
		wantErr(t, s.RevokeAPIKey(ctx, other.ID, k.ID), store.ErrNotFound)
		if err := s.RevokeAPIKey(ctx, c.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		first, err := s.APIKeyByHash(ctx, k.Hash)
		if err != nil || first.RevokedAt == nil || first.LastUsedAt == nil || first.Usable(time.Now()) {
			t.Fatalf("after revoke %+v, %v", first, err)
		}
		if err := s.RevokeAPIKey(ctx, c.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		second, err := s.APIKeyByHash(ctx, k.Hash)
		if err != nil || !second.RevokedAt.Equal(*first.RevokedAt) {
			t.Fatalf("revoking twice moved the revocation time: %v then %v (%v)", first.RevokedAt, second.RevokedAt, err)
		}

		// A key scoped to a server: only to a server of the same customer,
		// and it goes with the server.
		srv := newServer(t, s, c.ID, "weather")
		scoped := store.APIKey{CustomerID: c.ID, ServerID: &srv.ID, Prefix: "kiln_srv", Hash: store.HashAPIKey("kiln_srv_1"),
			ExpiresAt: ptr(time.Now().Add(-time.Minute))}
		if err := s.CreateAPIKey(ctx, &scoped); err != nil {
			t.Fatal(err)
		}
		if scoped.Usable(time.Now()) {
			t.Fatal("an expired key is usable")
		}
		foreign := store.APIKey{CustomerID: other.ID, ServerID: &srv.ID, Prefix: "kiln_x", Hash: store.HashAPIKey("kiln_x_1")}
		wantErr(t, s.CreateAPIKey(ctx, &foreign), store.ErrNotFound)
		if list, err := s.ListAPIKeys(ctx, c.ID); err != nil || len(list) != 2 {
			t.Fatalf("keys %+v, %v", list, err)
		}
		if err := s.DeleteServer(ctx, c.ID, srv.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.APIKeyByHash(ctx, scoped.Hash)
		wantErr(t, err, store.ErrNotFound)

		wantErr(t, s.DeleteAPIKey(ctx, other.ID, k.ID), store.ErrNotFound)
		if err := s.DeleteAPIKey(ctx, c.ID, k.ID); err != nil {
			t.Fatal(err)
		}
	})
}
