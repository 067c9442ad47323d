package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

const csrfCookie = "kiln_oauth_csrf"

// SessionCookie is the browser session's cookie (see pkg/websession).
const SessionCookie = websession.CookieName

func loginPage() *template.Template {
	return template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Kiln</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>Sign in to Kiln</h1>
{{if .ID}}<p><strong>{{.ClientName}}</strong> (redirecting to <strong>{{.RedirectHost}}</strong>)
asks to use the MCP server <strong>{{.Server}}</strong> on your behalf{{if .Tools}}, limited to the tools
{{range $i, $t := .Tools}}{{if $i}}, {{end}}<code>{{$t}}</code>{{end}}{{end}}.</p>{{end}}
{{if .Error}}<p role="alert" style="color: #b00">{{.Error}}</p>{{end}}
<form method="post" action="/oauth/login">
{{if .ID}}<input type="hidden" name="id" value="{{.ID}}">{{else}}<input type="hidden" name="next" value="{{.Next}}">{{end}}
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if .User}}<p>Signed in as <strong>{{.User}}</strong>.</p>
<p><button name="action" value="allow">Allow</button>{{else}}
<p><label>Username <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button name="action" value="allow">{{if .ID}}Sign in and allow{{else}}Sign in{{end}}</button>{{end}}
{{if .ID}}<button name="action" value="deny" formnovalidate>Deny</button>{{end}}</p>
</form>
{{if and .UpstreamURL (not .User)}}<p><a href="{{.UpstreamURL}}">Sign in with {{.Upstream}}</a></p>{{end}}
</body></html>`))
}

type loginView struct {
	ID, Next, CSRF, ClientName, RedirectHost, Server, Error, User string
	// Tools are the only tools the grant would allow (its mcp:tool:
	// scopes); empty: every tool of the server.
	Tools []string
	// Upstream names the upstream provider; UpstreamURL starts signing in
	// with it (empty: none is configured).
	Upstream, UpstreamURL string
}

// serveLogin is the sign-in page. With ?id= it is the login and consent
// page of an authorization request; with ?next= (or neither) it signs the
// browser in for the wizard and returns to that path.
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
	if r.Form.Get("id") == "" {
		s.serveSignIn(w, r)
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
	view.Tools, _ = auth.ToolScopes(ar.GetScopes())
	if view.ClientName == "" {
		view.ClientName = "An unnamed application"
	}
	if u, err := url.Parse(ar.GetRedirectURI()); err == nil {
		view.RedirectHost = u.Host
	}
	if s.upstream != nil {
		view.Upstream, view.UpstreamURL = s.upstream.cfg.Name, upstreamStartPath+"?id="+url.QueryEscape(ar.GetID())
	}
	sess, session, err := s.sessions.Lookup(r)
	hasSession := err == nil && !s.needsFreshLogin(ar, sess)
	if hasSession {
		view.User = displayName(session)
	}
	render := s.renderer(w, &view)
	if !submitted(r, render) {
		return
	}
	if r.PostForm.Get("action") == "deny" {
		var who store.User
		if hasSession {
			who = session
		}
		if err := s.recordConsent(ctx, ar, who, consentDenied); err != nil {
			s.log.ErrorContext(ctx, "recording a denied consent", "error", err)
		}
		op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("the user denied the request"), s.provider)
		return
	}
	user, authTime := session, sess.CreatedAt
	if !hasSession {
		authTime = s.now()
		var msg string
		user, msg = s.checkLogin(r, ar.GetClientID(), r.PostForm.Get("username"), r.PostForm.Get("password"))
		if msg != "" {
			render(http.StatusUnauthorized, msg)
			return
		}
		if err := s.sessions.Start(ctx, w, user.ID); err != nil {
			s.log.WarnContext(ctx, "starting a browser session", "user", user.ID, "error", err)
		}
	}
	s.grant(w, r, ar, user, authTime, render)
}

// Consent outcomes (ActionConsent's details.outcome).
const (
	consentGranted = "granted"
	consentDenied  = "denied"
	consentRefused = "refused"
)

// grant completes an authorization request the user allowed, and sends the
// browser back to the client with the code.
func (s *Server) grant(w http.ResponseWriter, r *http.Request, ar *authRequest, user store.User, authTime time.Time, render func(int, string)) {
	ctx := r.Context()
	// A user may grant access only to a server of their own customer.
	serverID, _ := s.resourceServerID(ar.row.Resource)
	if _, err := s.store.Server(ctx, user.CustomerID, serverID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(ctx, "checking a server's customer", "error", err)
		}
		if err := s.recordConsent(ctx, ar, user, consentRefused); err != nil {
			s.log.ErrorContext(ctx, "recording a refused consent", "error", err)
		}
		render(http.StatusForbidden, "Your account cannot grant access to this MCP server.")
		return
	}
	// No grant goes unrecorded.
	if err := s.recordConsent(ctx, ar, user, consentGranted); err != nil {
		s.log.ErrorContext(ctx, "recording a consent", "error", err)
		http.Error(w, "Kiln could not record the sign-in; try again.", http.StatusInternalServerError)
		return
	}
	callback, err := s.completeAuthRequest(ctx, ar.GetID(), user.ID, authTime)
	if err != nil {
		s.log.ErrorContext(ctx, "completing an auth request", "error", err)
		http.Error(w, "Kiln could not record the sign-in; try again.", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, callback, http.StatusSeeOther)
}

// recordConsent records a user's answer to an authorization request; user
// is the zero User when nobody is signed in.
func (s *Server) recordConsent(ctx context.Context, ar *authRequest, user store.User, outcome string) error {
	actor := actorAnonymous
	if user.ID != "" {
		actor = userActor(user.ID)
	}
	return recordAudit(ctx, s.store, auditEvent{action: ActionConsent, actor: actor, target: ar.GetClientID(),
		customerID: user.CustomerID, details: map[string]any{
			"outcome": outcome, "client_id": ar.GetClientID(), "resource": ar.row.Resource, "scopes": ar.GetScopes(),
		}})
}

// needsFreshLogin says whether a browser session is too old for a request:
// prompt=login wants a sign-in made after the request, max_age one at most
// that many seconds old.
func (s *Server) needsFreshLogin(ar *authRequest, sess store.UserSession) bool {
	if slices.Contains(ar.req.Prompt, oidc.PromptLogin) && sess.CreatedAt.Before(ar.row.CreatedAt) {
		return true
	}
	return ar.req.MaxAge != nil && s.now().Sub(sess.CreatedAt) > time.Duration(*ar.req.MaxAge)*time.Second
}

// completeAuthRequest records the user's consent and when they signed in,
// and returns the client's callback URL with the code, the state and
// (RFC 9207) the issuer.
func (s *Server) completeAuthRequest(ctx context.Context, id, userID string, authTime time.Time) (string, error) {
	if err := s.store.CompleteOAuthAuthRequest(ctx, id, userID, authTime); err != nil {
		return "", err
	}
	done, err := (&storage{s: s}).authRequestByID(ctx, id)
	if err != nil {
		return "", err
	}
	callback, err := op.BuildAuthResponseCallbackURL(ctx, done, s.provider)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(callback)
	if err != nil {
		return "", fmt.Errorf("oauth: parsing the callback URL: %w", err)
	}
	q := u.Query()
	q.Set("iss", s.issuer)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// serveSignIn signs the browser in without an authorization request (the
// wizard's sign-in), then returns to ?next=, a path on this site.
func (s *Server) serveSignIn(w http.ResponseWriter, r *http.Request) {
	next, ok := localPath(r.Form.Get("next"))
	if !ok {
		http.Error(w, "next must be a path on this site, such as /", http.StatusBadRequest)
		return
	}
	if _, _, err := s.sessions.Lookup(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	view := loginView{Next: next}
	if s.upstream != nil {
		view.Upstream, view.UpstreamURL = s.upstream.cfg.Name, upstreamStartPath+"?next="+url.QueryEscape(next)
	}
	render := s.renderer(w, &view)
	if !submitted(r, render) {
		return
	}
	user, msg := s.checkLogin(r, "", r.PostForm.Get("username"), r.PostForm.Get("password"))
	if msg != "" {
		render(http.StatusUnauthorized, msg)
		return
	}
	if err := s.sessions.Start(r.Context(), w, user.ID); err != nil {
		s.log.ErrorContext(r.Context(), "starting a browser session", "user", user.ID, "error", err)
		render(http.StatusServiceUnavailable, "Kiln could not record the sign-in; try again.")
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// serveLogout signs the browser out. It takes only POST (a link cannot sign
// anyone out) from this site's own pages: a cross-site form would not send
// the SameSite=Lax cookie, but the answer's cookie-clearing header would
// still take effect, so a foreign Origin is refused.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if origin := r.Header.Get("Origin"); origin != "" && origin != s.origin() {
		http.Error(w, "Sign out from Kiln's own pages.", http.StatusForbidden)
		return
	}
	if err := s.sessions.End(w, r); err != nil {
		s.log.ErrorContext(r.Context(), "ending a browser session", "error", err)
		http.Error(w, "Kiln could not sign you out; try again.", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/oauth/login", http.StatusSeeOther)
}

// renderer returns a function that renders the page with a fresh CSRF
// token (a cookie and a hidden field that must match on POST).
func (s *Server) renderer(w http.ResponseWriter, view *loginView) func(status int, msg string) {
	return func(status int, msg string) {
		view.Error = msg
		view.CSRF = randomToken(24)
		http.SetCookie(w, &http.Cookie{
			Name: csrfCookie, Value: view.CSRF, Path: "/oauth/login", HttpOnly: true,
			Secure: isHTTPS(s.issuer), SameSite: http.SameSiteStrictMode, MaxAge: 600,
		})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		if err := loginPage().Execute(w, view); err != nil {
			s.log.Warn("writing the login page", "error", err)
		}
	}
}

// submitted renders the page for a GET and says whether the request is a
// POST of the form whose CSRF token matches its cookie (re-rendering the
// page when it does not).
func submitted(r *http.Request, render func(status int, msg string)) bool {
	if r.Method == http.MethodGet {
		render(http.StatusOK, "")
		return false
	}
	cookie, err := r.Cookie(csrfCookie)
	if err != nil || cookie.Value == "" || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		render(http.StatusForbidden, "The form expired; please try again.")
		return false
	}
	return true
}

func displayName(u store.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Email
}

// checkLogin verifies a local account's password, with lockout, and
// records the attempt (clientID is the authorization request's client, ""
// for the wizard's sign-in). It returns a message for the page when the
// login fails; it never says whether the username exists.
func (s *Server) checkLogin(r *http.Request, clientID, username, password string) (store.User, string) {
	const bad = "The username or password is wrong, or the account is locked."
	ctx := r.Context()
	user, reason := s.verifyLogin(ctx, username, password)
	err := s.recordSignIn(ctx, signInLocal, user, reason, map[string]any{"client_id": clientID})
	if reason != "" {
		if err != nil {
			s.log.ErrorContext(ctx, "recording a failed sign-in", "error", err)
		}
		return store.User{}, bad
	}
	if err != nil {
		// No sign-in goes unrecorded.
		s.log.ErrorContext(ctx, "recording a sign-in", "user", user.ID, "error", err)
		return store.User{}, "Kiln could not record the sign-in; try again."
	}
	return user, ""
}

// Why a sign-in failed (ActionSignIn's details.reason).
const (
	signInUnknownAccount = "unknown_account"
	signInLocked         = "locked"
	signInWrongPassword  = "wrong_password"
	signInFailed         = "error"
)

// verifyLogin checks a username and password. It returns the account's
// user when the account exists (even when the password is wrong, so that
// the failure is recorded against it) and why the login failed ("" when it
// did not).
func (s *Server) verifyLogin(ctx context.Context, username, password string) (store.User, string) {
	acct, err := s.store.LocalAccountByUsername(ctx, username)
	if err != nil {
		reason := signInUnknownAccount
		if !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(ctx, "looking up a local account", "error", err)
			reason = signInFailed
		}
		// The same cost as a real check, so timing does not reveal names.
		_ = s.hashing(ctx, func() { _, _ = checkPassword(dummyHash, password) })
		return store.User{}, reason
	}
	user, err := s.store.User(ctx, acct.UserID)
	if err != nil {
		s.log.ErrorContext(ctx, "loading a user", "user", acct.UserID, "error", err)
		return store.User{}, signInFailed
	}
	now := s.now()
	if acct.LockedUntil != nil && now.Before(*acct.LockedUntil) {
		return user, signInLocked
	}
	var ok bool
	if herr := s.hashing(ctx, func() { ok, err = checkPassword(acct.PasswordHash, password) }); herr != nil {
		return user, signInFailed
	}
	if err != nil {
		s.log.ErrorContext(ctx, "checking a password", "user", acct.UserID, "error", err)
		return user, signInFailed
	}
	if !ok {
		if err := s.store.RecordLoginFailure(ctx, acct.UserID, maxFailedLogins, now.Add(lockoutFor)); err != nil {
			s.log.ErrorContext(ctx, "recording a failed login", "user", acct.UserID, "error", err)
		}
		return user, signInWrongPassword
	}
	if err := s.store.RecordLoginSuccess(ctx, acct.UserID); err != nil {
		s.log.WarnContext(ctx, "recording a login", "user", acct.UserID, "error", err)
	}
	return user, ""
}

// Sign-in methods (ActionSignIn's details.method).
const (
	signInLocal    = "local"
	signInUpstream = "upstream"
)

// recordSignIn records a sign-in attempt: successful when reason is "".
// user is the account tried, the zero User when unknown. Empty details are
// left out.
func (s *Server) recordSignIn(ctx context.Context, method string, user store.User, reason string, details map[string]any) error {
	e := auditEvent{action: ActionSignIn, actor: actorAnonymous, customerID: user.CustomerID,
		details: map[string]any{"method": method, "outcome": outcomeFailure}}
	if user.ID != "" {
		e.target = userActor(user.ID)
	}
	if reason == "" {
		e.actor, e.details["outcome"] = userActor(user.ID), outcomeSuccess
	} else {
		e.details["reason"] = reason
	}
	for k, v := range details {
		if v != "" {
			e.details[k] = v
		}
	}
	return recordAudit(ctx, s.store, e)
}

// dummyHash is checked against when the username does not exist.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// origin is the issuer's scheme://host[:port], as browsers send it in Origin.
func (s *Server) origin() string {
	u, err := url.Parse(s.issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func isHTTPS(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && u.Scheme == "https"
}
