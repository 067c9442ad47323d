package store_test

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestOAuthStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		u := store.User{CustomerID: c.ID, Email: "ada@example.com", Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}

		// Local accounts: unique usernames, failures counted, lockout.
		a := store.LocalAccount{UserID: u.ID, Username: "ada", PasswordHash: "$argon2id$x"}
		if err := s.CreateLocalAccount(ctx, &a); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.CreateLocalAccount(ctx, &store.LocalAccount{UserID: u.ID, Username: "ada", PasswordHash: "x"}), store.ErrConflict)
		until := time.Now().Add(time.Hour)
		for range 3 {
			if err := s.RecordLoginFailure(ctx, u.ID, 3, until); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.LocalAccountByUsername(ctx, "ada")
		if err != nil || got.LockedUntil == nil || got.FailedLogins != 0 {
			t.Fatalf("after 3 failures: %+v %v", got, err)
		}
		if err := s.RecordLoginSuccess(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.LocalAccountByUsername(ctx, "ada"); got.LockedUntil != nil {
			t.Errorf("a successful login kept the lock")
		}

		// Clients and auth requests: a code is set once, found by its hash.
		cl := store.OAuthClient{ID: "cli_test", Name: "Test", RedirectURIs: `["https://app.example/cb"]`}
		if err := s.CreateOAuthClient(ctx, &cl); err != nil {
			t.Fatal(err)
		}
		_, err = s.OAuthClient(ctx, "cli_nope")
		wantErr(t, err, store.ErrNotFound)
		ar := store.OAuthAuthRequest{ClientID: cl.ID, Request: "{}", Resource: "https://k/mcp/srv_a", ExpiresAt: time.Now().Add(time.Minute)}
		if err := s.CreateOAuthAuthRequest(ctx, &ar); err != nil {
			t.Fatal(err)
		}
		code := store.HashOAuthSecret("code")
		wantErr(t, s.SetOAuthCode(ctx, ar.ID, code, time.Now().Add(time.Minute)), store.ErrNotFound) // not consented yet
		if err := s.CompleteOAuthAuthRequest(ctx, ar.ID, u.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOAuthCode(ctx, ar.ID, code, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.SetOAuthCode(ctx, ar.ID, store.HashOAuthSecret("other"), time.Now().Add(time.Minute)), store.ErrNotFound)
		byCode, err := s.OAuthAuthRequestByCodeHash(ctx, code)
		if err != nil || byCode.ID != ar.ID || byCode.UserID == nil || *byCode.UserID != u.ID {
			t.Fatalf("by code: %+v %v", byCode, err)
		}
		if err := s.UseOAuthAuthRequest(ctx, ar.ID); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.UseOAuthAuthRequest(ctx, ar.ID), store.ErrNotFound)
		if used, err := s.OAuthAuthRequestByCodeHash(ctx, code); err != nil || used.UsedAt == nil {
			t.Fatalf("used request by code: %+v %v", used, err)
		}
		_, err = s.OAuthAuthRequest(ctx, ar.ID)
		wantErr(t, err, store.ErrNotFound)

		// Tokens: rotating a refresh token twice fails the second time.
		rt := store.OAuthToken{Kind: store.OAuthRefreshToken, FamilyID: "fam_1", TokenHash: store.HashOAuthSecret("rt1"),
			ClientID: cl.ID, UserID: u.ID, Resource: "https://k/mcp/srv_a", Scopes: `["mcp"]`, AuthTime: time.Now(),
			ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateOAuthTokens(ctx, nil, &rt); err != nil {
			t.Fatal(err)
		}
		next := rt
		next.ID, next.TokenHash = "", store.HashOAuthSecret("rt2")
		if err := s.CreateOAuthTokens(ctx, &rt.ID, &next); err != nil {
			t.Fatal(err)
		}
		again := rt
		again.ID, again.TokenHash = "", store.HashOAuthSecret("rt3")
		wantErr(t, s.CreateOAuthTokens(ctx, &rt.ID, &again), store.ErrNotFound)
		if _, err := s.OAuthTokenByHash(ctx, store.HashOAuthSecret("rt3")); err == nil {
			t.Error("the losing rotation inserted its token")
		}
		if err := s.RevokeOAuthTokenFamily(ctx, "fam_1"); err != nil {
			t.Fatal(err)
		}
		if tok, err := s.OAuthToken(ctx, next.ID); err != nil || tok.RevokedAt == nil {
			t.Errorf("family revocation: %+v %v", tok, err)
		}

		// Signing keys.
		if err := s.CreateOAuthSigningKey(ctx, &store.OAuthSigningKey{ID: "key_1", Algorithm: "RS256", PrivateKey: []byte("sealed")}); err != nil {
			t.Fatal(err)
		}
		keys, err := s.OAuthSigningKeys(ctx)
		if err != nil || len(keys) != 1 || string(keys[0].PrivateKey) != "sealed" {
			t.Errorf("signing keys %+v %v", keys, err)
		}
	})
}

func TestOAuthCleanup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		u := store.User{CustomerID: c.ID, Email: "x@example.com", Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		cl := store.OAuthClient{ID: "cli_c", RedirectURIs: `[]`}
		if err := s.CreateOAuthClient(ctx, &cl); err != nil {
			t.Fatal(err)
		}
		old := store.OAuthAuthRequest{ClientID: cl.ID, Request: "{}", Resource: "r", ExpiresAt: time.Now().Add(-time.Minute)}
		live := store.OAuthAuthRequest{ClientID: cl.ID, Request: "{}", Resource: "r", ExpiresAt: time.Now().Add(time.Minute)}
		for _, r := range []*store.OAuthAuthRequest{&old, &live} {
			if err := s.CreateOAuthAuthRequest(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.DeleteExpiredOAuthAuthRequests(ctx); err != nil || n != 1 {
			t.Errorf("deleted %d requests, %v; want 1", n, err)
		}
		tok := store.OAuthToken{Kind: store.OAuthAccessToken, FamilyID: "f", ClientID: cl.ID, UserID: u.ID, Resource: "r",
			Scopes: "[]", AuthTime: time.Now(), ExpiresAt: time.Now().Add(-2 * time.Hour)}
		if err := s.CreateOAuthTokens(ctx, nil, &tok); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredOAuthTokens(ctx, time.Now().Add(-3*time.Hour)); err != nil || n != 0 {
			t.Errorf("deleted %d tokens before the cutoff, %v", n, err)
		}
		if n, err := s.DeleteExpiredOAuthTokens(ctx, time.Now().Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("deleted %d tokens, %v; want 1", n, err)
		}
	})
}
