package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

func TestAuthentication(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, key := h.customer("free")
		for _, tc := range []struct {
			name, method, path, header string
		}{
			{"no credential", "GET", "/api/v1/servers", ""},
			{"not bearer", "GET", "/api/v1/servers", "Basic " + key},
			{"unknown key", "GET", "/api/v1/servers", "Bearer kiln_aaaaaaaaaaaaaaaaaaaaaaaaaa"},
			{"operator token as an API key", "GET", "/api/v1/servers", "Bearer " + operatorToken},
			{"no operator token", "GET", "/api/v1/admin/customers", ""},
			{"wrong operator token", "GET", "/api/v1/admin/customers", "Bearer " + operatorToken + "x"},
			{"API key as the operator token", "GET", "/api/v1/admin/customers", "Bearer " + key},
			{"empty bearer", "GET", "/api/v1/admin/customers", "Bearer "},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.raw(tc.method, tc.path, "", "", nil, "Authorization", tc.header).want(t, 401)
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") || r.errorMessage(t) == "" {
					t.Fatalf("401 without a challenge or message: %s %v", r, r.header)
				}
			})
		}
		// Lower-case scheme works: it is case-insensitive.
		h.raw("GET", "/api/v1/account", "", "", nil, "Authorization", "bearer "+key).want(t, 200)

		// An expired key is refused; its last use is recorded while valid.
		past := time.Now().Add(-time.Minute)
		expired := "kiln_expiredexpiredexpiredexpi"
		if err := h.store.CreateAPIKey(t.Context(), &store.APIKey{CustomerID: custID, Prefix: expired[:12], Hash: store.HashAPIKey(expired), ExpiresAt: &past}); err != nil {
			t.Fatal(err)
		}
		if msg := h.do("GET", "/api/v1/account", expired, nil).want(t, 401).errorMessage(t); !strings.Contains(msg, "expired") {
			t.Fatalf("expired key: %q", msg)
		}
		keys, err := h.store.ListAPIKeys(t.Context(), custID)
		if err != nil {
			t.Fatal(err)
		}
		if keys[0].LastUsedAt == nil {
			t.Fatal("the key's use was not recorded")
		}
	})
}
