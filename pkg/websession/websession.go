// Package websession is a signed-in browser: a random cookie, stored only as
// its SHA-256, naming a user until it expires or the user signs out. The
// OAuth login page (pkg/oauth) starts sessions; the user API (pkg/api)
// accepts them in place of an API key, for the browser wizard.
//
// Requests that change something and carry only the cookie must also carry
// the session's CSRF token (header X-CSRF-Token): a token derived from the
// cookie's value, which another site can neither read nor compute.
package websession

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

const (
	// CookieName is the session cookie's name.
	CookieName = "kiln_session"
	// CSRFHeader carries the session's CSRF token.
	CSRFHeader = "X-CSRF-Token"
	// TTL is how long a session lasts.
	TTL = 12 * time.Hour
)

// ErrNoSession is returned when a request carries no live session.
var ErrNoSession = errors.New("websession: no signed-in session")

// Manager starts, finds and ends sessions. It is safe for concurrent use.
type Manager struct {
	store *store.Store
	// secure marks cookies Secure (the public URL is https).
	secure bool
}

// Config configures a Manager.
type Config struct {
	// Store holds the sessions (required). Sessions expire by its clock
	// (store.Store.Now), the one their rows are written and read with.
	Store *store.Store
	// Secure sets the cookie's Secure attribute, which a site served over
	// https must (default false: plain http, for development).
	Secure bool
}

// New returns a Manager.
func New(cfg Config) *Manager {
	return &Manager{store: cfg.Store, secure: cfg.Secure}
}

// Start signs the browser in as userID. The cookie is HttpOnly (no script
// reads it), Secure on https, and SameSite=Lax: it goes with a top-level
// navigation from another site (an MCP client's redirect to /oauth/authorize
// must carry it) but not with a cross-site POST or fetch.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, userID string) error {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("websession: %w", err)
	}
	value := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := m.store.CreateUserSession(ctx, store.HashOAuthSecret(value), userID, m.store.Now().Add(TTL)); err != nil {
		return fmt.Errorf("websession: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: value, Path: "/", HttpOnly: true, Secure: m.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(TTL.Seconds()),
	})
	return nil
}

// Lookup returns the request's session and its user, or ErrNoSession.
func (m *Manager) Lookup(r *http.Request) (store.UserSession, store.User, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return store.UserSession{}, store.User{}, ErrNoSession
	}
	sess, u, err := m.store.SessionByHash(r.Context(), store.HashOAuthSecret(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return store.UserSession{}, store.User{}, ErrNoSession
	}
	if err != nil {
		return store.UserSession{}, store.User{}, fmt.Errorf("websession: %w", err)
	}
	return sess, u, nil
}

// HasCookie says whether the request carries a session cookie at all (live
// or not).
func HasCookie(r *http.Request) bool {
	c, err := r.Cookie(CookieName)
	return err == nil && c.Value != ""
}

// End signs the browser out: the stored session is deleted and the cookie
// cleared.
func (m *Manager) End(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Path: "/", HttpOnly: true, Secure: m.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	if err := m.store.DeleteUserSession(r.Context(), store.HashOAuthSecret(c.Value)); err != nil {
		return fmt.Errorf("websession: %w", err)
	}
	return nil
}

// CSRFToken is the CSRF token of the request's session cookie, or "" when
// there is none.
func CSRFToken(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return ""
	}
	return csrfToken(c.Value)
}

// CheckCSRF says whether the request's X-CSRF-Token header is its
// session's token.
func CheckCSRF(r *http.Request) bool {
	want := CSRFToken(r)
	got := r.Header.Get(CSRFHeader)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// csrfToken is a hash of the cookie value under its own label, so it is
// neither the cookie nor the stored session hash.
func csrfToken(cookie string) string {
	sum := sha256.Sum256([]byte("kiln-csrf/v1\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
