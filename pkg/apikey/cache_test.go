package apikey_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestCache: the cache answers as Check does; a revocation it is told of
// (Forget) applies at once, one it is not told of only after TTL or Purge;
// expiry is checked at every use by the store's clock; it never holds more
// than Size keys, and tokens no key has are not kept at all.
func TestCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		clock := storetest.NewClock(time.Now())
		s = s.WithClock(clock.Now)
		cust := storetest.Customer(t, s, "free")
		mk := func(expires *time.Time) (string, store.APIKey) {
			secret := apikey.New()
			k := store.APIKey{CustomerID: cust.ID, Name: "k", Prefix: secret[:apikey.PrefixLength],
				Hash: store.HashAPIKey(secret), ExpiresAt: expires}
			if err := s.CreateAPIKey(ctx, &k); err != nil {
				t.Fatal(err)
			}
			return secret, k
		}
		c := newCache(t, s, apikey.CacheConfig{Size: 3, TTL: -1})
		secret, k := mk(nil)
		if got, err := c.Check(ctx, secret); err != nil || got.ID != k.ID {
			t.Fatalf("usable key: %+v %v", got, err)
		}
		// Revoked behind the cache's back (no Forget): still the cached
		// row, which is why every node must hear of revocations.
		if err := s.RevokeAPIKey(ctx, cust.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Check(ctx, secret); err != nil {
			t.Fatalf("the cached row should still be used before Forget: %v", err)
		}
		c.Forget(store.AccessChange{Kind: store.AccessKey, ID: k.ID})
		if _, err := c.Check(ctx, secret); !errors.Is(err, apikey.ErrUnusable) {
			t.Fatalf("revoked key after Forget: %v", err)
		}

		// Expiry is the store's clock at each use, cached or not.
		at := clock.Now().Add(time.Hour)
		expiring, _ := mk(&at)
		if _, err := c.Check(ctx, expiring); err != nil {
			t.Fatal(err)
		}
		clock.Add(2 * time.Hour)
		if _, err := c.Check(ctx, expiring); !errors.Is(err, apikey.ErrUnusable) {
			t.Fatalf("expired cached key: %v", err)
		}

		// The bound: five usable keys through a cache of three.
		var secrets []string
		for range 5 {
			sec, _ := mk(nil)
			secrets = append(secrets, sec)
			if _, err := c.Check(ctx, sec); err != nil {
				t.Fatal(err)
			}
		}
		if n := c.Len(); n != 3 {
			t.Fatalf("cache holds %d keys, want its bound 3", n)
		}
		c.Purge()
		for range 50 {
			if _, err := c.Check(ctx, apikey.New()); !errors.Is(err, apikey.ErrInvalid) {
				t.Fatalf("unknown key: %v", err)
			}
		}
		if n := c.Len(); n != 0 {
			t.Fatalf("unknown tokens left %d entries", n)
		}
		// Forgetting a customer drops its keys; the keys still work, read again.
		if _, err := c.Check(ctx, secrets[4]); err != nil {
			t.Fatal(err)
		}
		c.Forget(store.AccessChange{Kind: store.AccessCustomer, ID: cust.ID})
		if n := c.Len(); n != 0 {
			t.Fatalf("forgetting the customer left %d keys", n)
		}
		if _, err := c.Check(ctx, secrets[4]); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCacheTTL: with a TTL, a row is read again once it is older, so a
// change nobody announced is seen within the TTL.
func TestCacheTTL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		cust := storetest.Customer(t, s, "free")
		secret := apikey.New()
		k := store.APIKey{CustomerID: cust.ID, Name: "k", Prefix: secret[:apikey.PrefixLength], Hash: store.HashAPIKey(secret)}
		if err := s.CreateAPIKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
		c := newCache(t, s, apikey.CacheConfig{TTL: time.Nanosecond})
		if _, err := c.Check(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(ctx, cust.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Check(ctx, secret); !errors.Is(err, apikey.ErrUnusable) {
			t.Fatalf("revoked key past the TTL: %v", err)
		}
	})
}

func newCache(t *testing.T, s *store.Store, cfg apikey.CacheConfig) *apikey.Cache {
	t.Helper()
	c, err := apikey.NewCache(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
