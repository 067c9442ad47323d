package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func newBox(t *testing.T) *secrets.Box {
	t.Helper()
	k, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secrets.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHashPassword(t *testing.T) {
	if _, err := oauth.HashPassword("short"); err == nil {
		t.Error("a short password was accepted")
	}
	h1, err := oauth.HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := oauth.HashPassword("a long enough password")
	if !strings.HasPrefix(h1, "$argon2id$v=19$") || h1 == h2 {
		t.Errorf("hashes %q %q: want salted argon2id PHC strings", h1, h2)
	}
}

// The signing keys are created once, sealed in the database, and are the
// same after a restart (and on every node sharing the database).
func TestSigningKeysSurviveRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		box := newBox(t)
		cfg := oauth.Config{Store: s, Secrets: box, PublicURL: "https://kiln.example.com"}
		jwks := func() string {
			as, err := oauth.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			as.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "https://kiln.example.com/oauth/keys", nil))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"kid"`) {
				t.Fatalf("JWKS: %d %s", rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), `"d"`) {
				t.Fatal("the JWKS holds a private key")
			}
			return rec.Body.String()
		}
		if first, second := jwks(), jwks(); first != second {
			t.Errorf("the keys changed across a restart:\n%s\n%s", first, second)
		}
		keys, err := s.OAuthSigningKeys(ctx)
		if err != nil || len(keys) != 1 {
			t.Fatalf("stored keys: %d %v", len(keys), err)
		}
		// Another master key cannot open them.
		if _, err := oauth.New(ctx, oauth.Config{Store: s, Secrets: newBox(t), PublicURL: cfg.PublicURL}); err == nil {
			t.Error("a server with another master key started on sealed keys")
		}
	})
}

func TestLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cust, srv := customerWithServer(t, s)
		const password = "the right password"
		if _, err := oauth.CreateLocalAccount(ctx, s, cust.ID, "carol", "", password, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := oauth.CreateLocalAccount(ctx, s, cust.ID, "carol", "", password, ""); err == nil {
			t.Error("a second account with the same username")
		}
		_, public := startAS(t, s)
		clientID := register(t, public)
		login := func(pw string) int {
			jar := &cookieJar{}
			c := &http.Client{Jar: jar}
			q := url.Values{"client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"},
				"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
				"resource": {public + "/mcp/" + srv.ID}, "state": {"x"}}
			resp, err := c.Get(public + "/oauth/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(resp)
			id, csrf := field(body, "id"), field(body, "csrf")
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err = c.PostForm(public+"/oauth/login", url.Values{"id": {id}, "csrf": {csrf},
				"username": {"carol"}, "password": {pw}, "action": {"allow"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := login(password); got != http.StatusSeeOther {
			t.Fatalf("the right password: %d", got)
		}
		for i := range 5 {
			if got := login("wrong password " + time.Now().String()); got != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d", i, got)
			}
		}
		if got := login(password); got != http.StatusUnauthorized {
			t.Errorf("the right password on a locked account: %d", got)
		}
	})
}
