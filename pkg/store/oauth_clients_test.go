package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestOAuthClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		// A dynamic client (the default), an operator's confidential one and
		// a public one, and a metadata document's.
		dyn := store.OAuthClient{ID: "cli_dyn", Name: "DCR", RedirectURIs: `["http://127.0.0.1/cb"]`}
		secret := store.HashOAuthSecret("kilncs_secret")
		conf := store.OAuthClient{ID: "cli_conf", Name: "Confidential", RedirectURIs: `["https://app.example/cb"]`,
			Registration: store.OAuthClientOperator, SecretHash: secret}
		pub := store.OAuthClient{ID: "cli_pub", Name: "Public", RedirectURIs: `["https://app.example/cb"]`,
			Registration: store.OAuthClientOperator}
		for _, c := range []*store.OAuthClient{&dyn, &conf, &pub} {
			if err := s.CreateOAuthClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if dyn.Registration != store.OAuthClientDynamic || dyn.CreatedAt.IsZero() {
			t.Errorf("dynamic client %+v", dyn)
		}
		wantErr(t, s.CreateOAuthClient(ctx, &store.OAuthClient{ID: "cli_conf", RedirectURIs: `[]`}), store.ErrConflict)
		// Only operators' clients have secrets; registrations are a closed set.
		if err := s.CreateOAuthClient(ctx, &store.OAuthClient{ID: "cli_x", RedirectURIs: `[]`, SecretHash: secret}); err == nil {
			t.Error("a dynamic client with a secret was stored")
		}
		if err := s.CreateOAuthClient(ctx, &store.OAuthClient{ID: "cli_y", RedirectURIs: `[]`, Registration: "other"}); err == nil {
			t.Error("an unknown registration was stored")
		}

		cimd := store.OAuthClient{ID: "https://app.example/client.json", Name: "CIMD", RedirectURIs: `["https://app.example/cb"]`}
		keep := time.Now().Add(time.Hour)
		if err := s.PutOAuthClient(ctx, &cimd, keep); err != nil {
			t.Fatal(err)
		}
		cimd.Name = "CIMD renamed"
		if err := s.PutOAuthClient(ctx, &cimd, keep); err != nil {
			t.Fatal(err)
		}
		if got, err := s.OAuthClient(ctx, cimd.ID); err != nil || got.Name != "CIMD renamed" || got.Registration != store.OAuthClientMetadata {
			t.Errorf("metadata client %+v %v", got, err)
		}
		// A metadata document never replaces a client registered otherwise.
		wantErr(t, s.PutOAuthClient(ctx, &store.OAuthClient{ID: conf.ID, Name: "hijack", RedirectURIs: `["https://evil.example/cb"]`}, keep), store.ErrConflict)
		if got, err := s.OAuthClient(ctx, dyn.ID); err != nil || got.ExpiresAt != nil {
			t.Errorf("a dynamic client has an expiry: %+v %v", got, err)
		}

		got, err := s.OAuthClient(ctx, conf.ID)
		if err != nil || !got.Confidential() || !bytes.Equal(got.SecretHash, secret) || got.Name != "Confidential" ||
			got.Registration != store.OAuthClientOperator || got.RedirectURIs != conf.RedirectURIs {
			t.Fatalf("confidential client %+v %v", got, err)
		}
		if got, err := s.OAuthClient(ctx, pub.ID); err != nil || got.Confidential() {
			t.Fatalf("public client %+v %v", got, err)
		}

		// Listing: by registration, newest first, limited.
		ids := func(f store.OAuthClientFilter) []string {
			t.Helper()
			cs, err := s.ListOAuthClients(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		if got := ids(store.OAuthClientFilter{Registration: store.OAuthClientOperator}); len(got) != 2 || got[0] != pub.ID || got[1] != conf.ID {
			t.Errorf("operator clients %v", got)
		}
		if got := ids(store.OAuthClientFilter{}); len(got) != 4 {
			t.Errorf("all clients %v", got)
		}
		if got := ids(store.OAuthClientFilter{Limit: 1}); len(got) != 1 || got[0] != cimd.ID {
			t.Errorf("newest client %v", got)
		}
		if got := ids(store.OAuthClientFilter{Registration: store.OAuthClientDynamic}); len(got) != 1 || got[0] != dyn.ID {
			t.Errorf("dynamic clients %v", got)
		}

		// Deleting a client deletes its auth requests and tokens.
		c := customer(t, s)
		u := store.User{CustomerID: c.ID, Email: "ada@example.com", Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		ar := store.OAuthAuthRequest{ClientID: conf.ID, Request: "{}", Resource: "r", ExpiresAt: time.Now().Add(time.Minute)}
		if err := s.CreateOAuthAuthRequest(ctx, &ar); err != nil {
			t.Fatal(err)
		}
		tok := store.OAuthToken{Kind: store.OAuthRefreshToken, FamilyID: "f", TokenHash: store.HashOAuthSecret("rt"),
			ClientID: conf.ID, UserID: u.ID, Resource: "r", Scopes: "[]", AuthTime: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateOAuthTokens(ctx, nil, &tok); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteOAuthClient(ctx, conf.ID); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.DeleteOAuthClient(ctx, conf.ID), store.ErrNotFound)
		_, err = s.OAuthClient(ctx, conf.ID)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.OAuthToken(ctx, tok.ID)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.OAuthAuthRequest(ctx, ar.ID)
		wantErr(t, err, store.ErrNotFound)
		if _, err := s.OAuthClient(ctx, pub.ID); err != nil {
			t.Errorf("another client went too: %v", err)
		}
	})
}

// TestExpiredOAuthClients: a metadata client's row goes once past its
// expiry and unreferenced; an authorization request or a token keeps it;
// its expiry only moves later; other clients never expire.
func TestExpiredOAuthClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := s.Now()
		put := func(id string, keep time.Time) {
			t.Helper()
			c := store.OAuthClient{ID: id, RedirectURIs: `["https://app.example/cb"]`}
			if err := s.PutOAuthClient(ctx, &c, keep); err != nil {
				t.Fatal(err)
			}
		}
		put("https://a.example/idle", now.Add(time.Minute))
		put("https://a.example/requested", now.Add(time.Minute))
		put("https://a.example/granted", now.Add(time.Minute))
		put("https://a.example/fresh", now.Add(3*time.Minute))
		put("https://a.example/fresh", now.Add(2*time.Minute)) // does not shorten it
		dyn := store.OAuthClient{ID: "cli_dyn", RedirectURIs: `["https://app.example/cb"]`}
		if err := s.CreateOAuthClient(ctx, &dyn); err != nil {
			t.Fatal(err)
		}
		ar := store.OAuthAuthRequest{ClientID: "https://a.example/requested", Request: "{}", Resource: "r", ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateOAuthAuthRequest(ctx, &ar); err != nil {
			t.Fatal(err)
		}
		c := customer(t, s)
		u := store.User{CustomerID: c.ID, Email: "ada@example.com", Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		tok := store.OAuthToken{Kind: store.OAuthRefreshToken, FamilyID: "f", TokenHash: store.HashOAuthSecret("rt"),
			ClientID: "https://a.example/granted", UserID: u.ID, Resource: "r", Scopes: "[]", AuthTime: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateOAuthTokens(ctx, nil, &tok); err != nil {
			t.Fatal(err)
		}

		n, err := s.DeleteExpiredOAuthClients(ctx, now.Add(2*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v; want the idle client only", n, err)
		}
		for id, want := range map[string]bool{"https://a.example/idle": false, "https://a.example/requested": true,
			"https://a.example/granted": true, "https://a.example/fresh": true, "cli_dyn": true} {
			if _, err := s.OAuthClient(ctx, id); (err == nil) != want {
				t.Errorf("client %s kept %v, want %v (%v)", id, err == nil, want, err)
			}
		}
		// Once the grant's token is gone, its client goes too.
		if _, err := s.DeleteExpiredOAuthTokens(ctx, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredOAuthClients(ctx, now.Add(1000*time.Hour)); err != nil || n != 2 {
			t.Fatalf("deleted %d, %v; want the granted and fresh clients", n, err)
		}
		if _, err := s.OAuthClient(ctx, "cli_dyn"); err != nil {
			t.Errorf("a dynamic client expired: %v", err)
		}
	})
}
