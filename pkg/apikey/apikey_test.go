package apikey_test

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestCheck: a usable key is admitted and its use recorded at most once a
// minute by the store's clock; unknown, malformed, revoked and expired keys
// are refused with the error that says which.
func TestCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := storetest.NewClock(time.Now())
		s = s.WithClock(c.Now)
		log := slog.New(slog.DiscardHandler)
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
		secret, k := mk(nil)
		got, err := apikey.Check(ctx, s, log, secret)
		if err != nil || got.ID != k.ID {
			t.Fatalf("usable key: %+v %v", got, err)
		}
		lastUsed := func() time.Time {
			keys, err := s.ListAPIKeys(ctx, cust.ID)
			if err != nil || len(keys) == 0 || keys[0].LastUsedAt == nil {
				t.Fatalf("no last use recorded: %+v %v", keys, err)
			}
			return *keys[0].LastUsedAt
		}
		first := lastUsed()
		c.Add(30 * time.Second)
		if _, err := apikey.Check(ctx, s, log, secret); err != nil || !lastUsed().Equal(first) {
			t.Fatalf("a use within a minute was written: %v", err)
		}
		c.Add(31 * time.Second)
		if _, err := apikey.Check(ctx, s, log, secret); err != nil || !lastUsed().After(first) {
			t.Fatalf("a use after a minute was not written: %v", err)
		}

		for _, bad := range []string{"", "kiln_", "kiln_unknownunknownunknown12", "sk-" + secret, secret + "x"} {
			if _, err := apikey.Check(ctx, s, log, bad); !errors.Is(err, apikey.ErrInvalid) {
				t.Errorf("%q: %v, want ErrInvalid", bad, err)
			}
		}
		soon := c.Now().Add(time.Hour)
		expiring, _ := mk(&soon)
		c.Add(2 * time.Hour)
		if _, err := apikey.Check(ctx, s, log, expiring); !errors.Is(err, apikey.ErrUnusable) {
			t.Errorf("expired key: %v, want ErrUnusable", err)
		}
		if err := s.RevokeAPIKey(ctx, cust.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := apikey.Check(ctx, s, log, secret); !errors.Is(err, apikey.ErrUnusable) {
			t.Errorf("revoked key: %v, want ErrUnusable", err)
		}
	})
}
