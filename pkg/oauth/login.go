package oauth

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kilnhq/kiln/pkg/store"
)

const (
	csrfCookie = "kiln_oauth_csrf"
	// SessionCookie holds a signed-in browser's session (its SHA-256 is
	// stored in user_sessions).
	SessionCookie = "kiln_session"
	sessionTTL    = 12 * time.Hour
)

func loginPage() *template.Template {
	return template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Kiln</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>Sign in to Kiln</h1>
<p><strong>{{.ClientName}}</strong> (redirecting to <strong>{{.RedirectHost}}</strong>)
asks to use the MCP server <strong>{{.Server}}</strong> on your behalf.</p>
{{if .Error}}<p role="alert" style="color: #b00">{{.Error}}</p>{{end}}
<form method="post" action="/oauth/login">
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if .User}}<p>Signed in as <strong>{{.User}}</strong>.</p>
<p><button name="action" value="allow">Allow</button>{{else}}
<p><label>Username <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button name="action" value="allow">Sign in and allow</button>{{end}}
<button name="action" value="deny" formnovalidate>Deny</button></p>
</form></body></html>`))
}

type loginView struct {
	ID, CSRF, ClientName, RedirectHost, Server, Error, User string
}

// serveLogin is the login and consent page for an authorization request.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	st := &storage{s: s}
	ar, err := st.authRequestByID(ctx, r.Form.Get("id"))
	if err != nil || ar.Done() {
		http.Error(w, "This sign-in request is unknown, expired or already used. Start again from your application.", http.StatusBadRequest)
		return
	}
	c, err := s.store.OAuthClient(ctx, ar.GetClientID())
	if err != nil {
		http.Error(w, "The application is unknown.", http.StatusBadRequest)
		return
	}
	serverID, _ := s.resourceServerID(ar.row.Resource)
	view := loginView{ID: ar.GetID(), ClientName: c.Name, Server: serverID}
	if view.ClientName == "" {
		view.ClientName = "An unnamed application"
	}
	if u, err := url.Parse(ar.GetRedirectURI()); err == nil {
		view.RedirectHost = u.Host
	}
	secure := r.TLS != nil || isHTTPS(s.issuer)
	session, hasSession := s.sessionUser(r)
	if hasSession {
		view.User = session.DisplayName
		if view.User == "" {
			view.User = session.Email
		}
	}
	render := func(status int, msg string) {
		view.Error = msg
		view.CSRF = randomToken(24)
		http.SetCookie(w, &http.Cookie{
			Name: csrfCookie, Value: view.CSRF, Path: "/oauth/login", HttpOnly: true,
			Secure: secure, SameSite: http.SameSiteStrictMode, MaxAge: 600,
		})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = loginPage().Execute(w, view)
	}
	if r.Method == http.MethodGet {
		render(http.StatusOK, "")
		return
	}
	cookie, err := r.Cookie(csrfCookie)
	if err != nil || cookie.Value == "" || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		render(http.StatusForbidden, "The form expired; please try again.")
		return
	}
	if r.PostForm.Get("action") == "deny" {
		op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("the user denied the request"), s.provider)
		return
	}
	user := session
	if !hasSession {
		var msg string
		user, msg = s.checkLogin(r, r.PostForm.Get("username"), r.PostForm.Get("password"))
		if msg != "" {
			render(http.StatusUnauthorized, msg)
			return
		}
		if err := s.startSession(w, r, user.ID, secure); err != nil {
			s.log.Warn("starting a browser session", "user", user.ID, "error", err)
		}
	}
	// A user may grant access only to a server of their own customer.
	if _, err := s.store.Server(ctx, user.CustomerID, serverID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("checking a server's customer", "error", err)
		}
		render(http.StatusForbidden, "Your account cannot grant access to this MCP server.")
		return
	}
	if err := s.store.CompleteOAuthAuthRequest(ctx, ar.GetID(), user.ID, s.now()); err != nil {
		s.log.Error("completing an auth request", "error", err)
		http.Error(w, "Kiln could not record the sign-in; try again.", http.StatusInternalServerError)
		return
	}
	done, err := st.authRequestByID(ctx, ar.GetID())
	if err != nil {
		http.Error(w, "Kiln could not record the sign-in; try again.", http.StatusInternalServerError)
		return
	}
	callback, err := op.BuildAuthResponseCallbackURL(ctx, done, s.provider)
	if err != nil {
		op.AuthRequestError(w, r, done, err, s.provider)
		return
	}
	// RFC 9207: name the issuer in the authorization response.
	if u, err := url.Parse(callback); err == nil {
		q := u.Query()
		q.Set("iss", s.issuer)
		u.RawQuery = q.Encode()
		callback = u.String()
	}
	http.Redirect(w, r, callback, http.StatusSeeOther)
}

// checkLogin verifies a local account's password, with lockout. It returns
// a message for the page when the login fails; it never says whether the
// username exists.
func (s *Server) checkLogin(r *http.Request, username, password string) (store.User, string) {
	const bad = "The username or password is wrong, or the account is locked."
	ctx := r.Context()
	acct, err := s.store.LocalAccountByUsername(ctx, username)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("looking up a local account", "error", err)
		}
		// The same cost as a real check, so timing does not reveal names.
		if err := s.hashing(ctx, func() { _, _ = checkPassword(dummyHash, password) }); err != nil {
			return store.User{}, bad
		}
		return store.User{}, bad
	}
	now := s.now()
	if acct.LockedUntil != nil && now.Before(*acct.LockedUntil) {
		return store.User{}, bad
	}
	var ok bool
	if herr := s.hashing(ctx, func() { ok, err = checkPassword(acct.PasswordHash, password) }); herr != nil {
		return store.User{}, bad
	}
	if err != nil {
		s.log.Error("checking a password", "user", acct.UserID, "error", err)
		return store.User{}, bad
	}
	if !ok {
		if err := s.store.RecordLoginFailure(ctx, acct.UserID, maxFailedLogins, now.Add(lockoutFor)); err != nil {
			s.log.Error("recording a failed login", "user", acct.UserID, "error", err)
		}
		return store.User{}, bad
	}
	if err := s.store.RecordLoginSuccess(ctx, acct.UserID); err != nil {
		s.log.Warn("recording a login", "user", acct.UserID, "error", err)
	}
	user, err := s.store.User(ctx, acct.UserID)
	if err != nil {
		s.log.Error("loading a user", "user", acct.UserID, "error", err)
		return store.User{}, bad
	}
	return user, ""
}

// dummyHash is checked against when the username does not exist.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func isHTTPS(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && u.Scheme == "https"
}

// sessionUser returns the user of the request's session cookie, if any.
func (s *Server) sessionUser(r *http.Request) (store.User, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return store.User{}, false
	}
	u, err := s.store.UserBySession(r.Context(), store.HashOAuthSecret(c.Value))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("looking up a browser session", "error", err)
		}
		return store.User{}, false
	}
	return u, true
}

// startSession signs the browser in: a random cookie (Secure on https,
// HttpOnly, SameSite=Lax so that a client's redirect to /oauth/authorize
// carries it), stored as a hash.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID string, secure bool) error {
	value := randomToken(32)
	if err := s.store.CreateUserSession(r.Context(), store.HashOAuthSecret(value), userID, s.now().Add(sessionTTL)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds()),
	})
	return nil
}
