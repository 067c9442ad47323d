package oauth_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestCORS: browser-based MCP clients may call the discovery, registration,
// token, revocation and key endpoints from any origin, never with the
// user's cookies; the login page (cookie-authenticated) allows no origin.
func TestCORS(t *testing.T) {
	as, err := oauth.New(context.Background(), oauth.Config{Store: storetest.SQLite(t), Secrets: newBox(t), PublicURL: "https://kiln.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	const origin = "https://client.example"
	for _, tc := range []struct {
		method, path string
		allowed      bool
	}{
		{"GET", "/.well-known/oauth-authorization-server", true},
		{"OPTIONS", "/.well-known/oauth-authorization-server", true},
		{"OPTIONS", "/oauth/register", true},
		{"OPTIONS", "/oauth/token", true},
		{"POST", "/oauth/token", true},
		{"OPTIONS", "/oauth/revoke", true},
		{"GET", "/oauth/keys", true},
		{"GET", "/oauth/login?next=/", false},
		{"OPTIONS", "/oauth/login", false},
		{"POST", "/oauth/logout", false},
	} {
		r := httptest.NewRequest(tc.method, "https://kiln.example.com"+tc.path, nil)
		r.Header.Set("Origin", origin)
		if tc.method == "OPTIONS" {
			r.Header.Set("Access-Control-Request-Method", "POST")
			r.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		rec := httptest.NewRecorder()
		as.Handler().ServeHTTP(rec, r)
		got := rec.Header().Get("Access-Control-Allow-Origin")
		if tc.allowed != (got == "*" || got == origin) {
			t.Errorf("%s %s: Access-Control-Allow-Origin %q (status %d), want allowed=%v", tc.method, tc.path, got, rec.Code, tc.allowed)
		}
		if creds := rec.Header().Get("Access-Control-Allow-Credentials"); creds != "" {
			t.Errorf("%s %s: Access-Control-Allow-Credentials %q: cookies must never be sent cross-origin", tc.method, tc.path, creds)
		}
		if tc.method == "OPTIONS" && tc.allowed && rec.Code >= 300 {
			t.Errorf("%s %s: preflight answered %d", tc.method, tc.path, rec.Code)
		}
	}
}
