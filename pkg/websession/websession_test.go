package websession_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/websession"
)

// TestSession: a started session is found by its cookie, carries a CSRF
// token that is neither the cookie nor its stored hash, and is gone after
// End; an expired one is not found.
func TestSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		cust := store.Customer{Name: "c", Tier: "free"}
		if err := s.CreateCustomer(ctx, &cust); err != nil {
			t.Fatal(err)
		}
		u := store.User{CustomerID: cust.ID, Email: "a@example.com", Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		m := websession.New(websession.Config{Store: s.WithClock(func() time.Time { return now }), Secure: true})
		rec := httptest.NewRecorder()
		if err := m.Start(ctx, rec, u.ID); err != nil {
			t.Fatal(err)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 || !cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].SameSite != http.SameSiteLaxMode || len(cookies[0].Value) < 40 {
			t.Fatalf("cookie %+v", cookies)
		}
		r := httptest.NewRequest("POST", "/", nil)
		r.AddCookie(cookies[0])
		sess, got, err := m.Lookup(r)
		if err != nil || got.ID != u.ID || !sess.ExpiresAt.After(now.Add(websession.TTL-time.Minute)) {
			t.Fatalf("lookup: %+v %+v %v", sess, got, err)
		}

		token := websession.CSRFToken(r)
		if token == "" || strings.Contains(token, cookies[0].Value) || websession.CheckCSRF(r) {
			t.Fatalf("token %q; a request without the header passed: %v", token, websession.CheckCSRF(r))
		}
		r.Header.Set(websession.CSRFHeader, token)
		if !websession.CheckCSRF(r) {
			t.Fatal("the right token was refused")
		}
		// A token from another session does not pass.
		other := httptest.NewRequest("POST", "/", nil)
		other.AddCookie(&http.Cookie{Name: websession.CookieName, Value: "another-session"})
		other.Header.Set(websession.CSRFHeader, token)
		if websession.CheckCSRF(other) {
			t.Fatal("one session's token passed for another")
		}

		rec = httptest.NewRecorder()
		if err := m.End(rec, r); err != nil {
			t.Fatal(err)
		}
		if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
			t.Fatalf("End did not clear the cookie: %+v", c)
		}
		if _, _, err := m.Lookup(r); !errors.Is(err, websession.ErrNoSession) {
			t.Fatalf("after End: %v", err)
		}
		if err := m.End(httptest.NewRecorder(), r); err != nil {
			t.Fatalf("ending twice: %v", err)
		}

		// Expired sessions are not found.
		if err := s.CreateUserSession(ctx, store.HashOAuthSecret("old"), u.ID, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		stale := httptest.NewRequest("GET", "/", nil)
		stale.AddCookie(&http.Cookie{Name: websession.CookieName, Value: "old"})
		if _, _, err := m.Lookup(stale); !errors.Is(err, websession.ErrNoSession) {
			t.Fatalf("expired session: %v", err)
		}
	})
}
