package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// UpstreamConfig configures sign-in through an upstream OpenID Connect
// provider (code flow with PKCE), offered on the login page beside local
// accounts.
type UpstreamConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// at the first sign-in.
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	// Name is shown on the button: "Sign in with <Name>".
	Name string
	// Signup gives a person the provider knows but Kiln does not a new
	// customer on the free plan, with them as its owner. Without it, such a
	// person is refused unless an operator created a user with their
	// (provider-verified) email address.
	Signup bool
	// HTTPClient reaches the provider (nil: a client with a timeout). The
	// provider is the operator's choice, so it is not behind the egress
	// guard: it may be on a private network.
	HTTPClient *http.Client
}

// Upstream paths, under the issuer.
const (
	upstreamStartPath    = "/oauth/upstream/start"
	upstreamCallbackPath = "/oauth/upstream/callback"
	// discoveryTimeout bounds reading the provider's discovery document,
	// providerTimeout every other request to the provider.
	discoveryTimeout = 10 * time.Second
	providerTimeout  = 15 * time.Second
)

// upstream is the relying party for the upstream provider. The party is
// built on first use, so that `kiln serve` starts while the provider is
// down, and built again after a failure.
type upstream struct {
	cfg         UpstreamConfig
	redirectURI string
	cookies     *httphelper.CookieHandler
	// failed records a sign-in the provider or the callback refused.
	failed func(r *http.Request, reason string, details map[string]any)

	mu    sync.Mutex
	party rp.RelyingParty
}

func (s *Server) newUpstream(cfg UpstreamConfig) (*upstream, error) {
	if u, err := url.Parse(cfg.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oauth: upstream issuer %q is not an absolute http(s) URL", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oauth: the upstream provider needs a client ID")
	}
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	// The state and PKCE verifier travel in cookies sealed with keys
	// derived from the master key, so the callback may land on any node.
	hashKey, err := s.box.DeriveKey("oauth-upstream-cookie-hash", 32)
	if err != nil {
		return nil, err
	}
	encryptKey, err := s.box.DeriveKey("oauth-upstream-cookie-encrypt", 32)
	if err != nil {
		return nil, err
	}
	opts := []httphelper.CookieHandlerOpt{httphelper.WithMaxAge(int(authRequestTTL.Seconds())), httphelper.WithPath("/oauth/upstream/")}
	if !isHTTPS(s.issuer) {
		opts = append(opts, httphelper.WithUnsecure())
	}
	return &upstream{
		cfg:         cfg,
		redirectURI: s.issuer + upstreamCallbackPath,
		cookies:     httphelper.NewCookieHandler(hashKey, encryptKey, opts...),
		failed: func(r *http.Request, reason string, details map[string]any) {
			details["provider"] = cfg.Issuer
			if err := s.recordSignIn(r.Context(), signInUpstream, store.User{}, reason, details); err != nil {
				s.log.ErrorContext(r.Context(), "recording a failed sign-in", "error", err)
			}
		},
	}, nil
}

// relyingParty returns the relying party, reading the provider's discovery
// document the first time.
func (u *upstream) relyingParty(ctx context.Context) (rp.RelyingParty, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.party != nil {
		return u.party, nil
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	opts := []rp.Option{
		rp.WithPKCE(u.cookies),
		rp.WithCookieHandler(u.cookies),
		rp.WithVerifierOpts(rp.WithIssuedAtOffset(30 * time.Second)),
		// The audit log gets the provider's error code, not descriptions,
		// which may quote what the provider or the exchange returned.
		rp.WithUnauthorizedHandler(func(w http.ResponseWriter, r *http.Request, desc, _ string) {
			u.failed(r, "callback_rejected", map[string]any{})
			signInError(w, http.StatusUnauthorized, "Signing in with "+u.cfg.Name+" failed ("+desc+"). Start again from your application.")
		}),
		rp.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, errorType, desc, _ string) {
			u.failed(r, "provider_error", map[string]any{"error": errorType})
			signInError(w, http.StatusBadRequest, u.cfg.Name+" did not sign you in: "+strings.TrimSpace(errorType+" "+desc))
		}),
	}
	client := u.cfg.HTTPClient
	if client == nil {
		// A provider that hangs must not hold sign-ins open forever.
		client = &http.Client{Timeout: providerTimeout}
	}
	opts = append(opts, rp.WithHTTPClient(client))
	party, err := rp.NewRelyingPartyOIDC(ctx, u.cfg.Issuer, u.cfg.ClientID, u.cfg.ClientSecret, u.redirectURI,
		[]string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile}, opts...)
	if err != nil {
		return nil, fmt.Errorf("oauth: reaching the upstream provider %s: %w", u.cfg.Issuer, err)
	}
	u.party = party
	return party, nil
}

func signInError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}

// A sign-in's target travels in the OAuth state (which rp binds to the
// browser with a sealed cookie): an authorization request to return to, or
// a local path for the wizard.
const (
	targetAuthRequest = "a:"
	targetPath        = "p:"
)

// serveUpstreamStart sends the browser to the provider.
func (s *Server) serveUpstreamStart(w http.ResponseWriter, r *http.Request) {
	target, fresh, ok := s.signInTarget(r)
	if !ok {
		signInError(w, http.StatusBadRequest, "This sign-in link is incomplete or expired. Start again from your application.")
		return
	}
	party, err := s.upstream.relyingParty(r.Context())
	if err != nil {
		s.log.ErrorContext(r.Context(), "upstream sign-in", "error", err)
		signInError(w, http.StatusBadGateway, s.upstream.cfg.Name+" cannot be reached right now; try again, or sign in with a Kiln account.")
		return
	}
	var params []rp.URLParamOpt
	if fresh {
		// The provider's own session must not stand in for the fresh
		// sign-in the client asked for.
		params = append(params, rp.WithPromptURLParam(oidc.PromptLogin), rp.WithURLParam("max_age", "0"))
	}
	rp.AuthURLHandler(func() string { return randomToken(16) + "." + target }, party, params...)(w, r)
}

// signInTarget reads where a sign-in returns to: ?id= (an open
// authorization request) or ?next= (a path on this site). fresh says the
// authorization request asked for prompt=login or max_age.
func (s *Server) signInTarget(r *http.Request) (target string, fresh, ok bool) {
	if id := r.URL.Query().Get("id"); id != "" {
		ar, err := (&storage{s: s}).authRequestByID(r.Context(), id)
		if err != nil || ar.Done() {
			return "", false, false
		}
		fresh = slices.Contains(ar.req.Prompt, oidc.PromptLogin) || ar.req.MaxAge != nil
		return targetAuthRequest + id, fresh, true
	}
	next, ok := localPath(r.URL.Query().Get("next"))
	if !ok {
		return "", false, false
	}
	return targetPath + next, false, true
}

// localPath returns the path and query of next when it names a page on
// this site ("" means "/"), normalized so that no browser can read it as
// another host: no scheme or host, no "//" or backslash (browsers read
// "/\evil" as "//evil"), no control characters (browsers drop a tab from
// "/\t/evil"), cleaned as http.Redirect would clean it.
func localPath(next string) (string, bool) {
	if next == "" {
		return "/", true
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.ContainsFunc(u.Path+u.RawQuery, unsafeInPath) {
		return "", false
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	out := (&url.URL{Path: clean, RawQuery: u.RawQuery}).String()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "", false
	}
	return out, true
}

func unsafeInPath(r rune) bool { return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) }

// serveUpstreamCallback finishes the code flow, signs the person in and
// returns to the target.
func (s *Server) serveUpstreamCallback(w http.ResponseWriter, r *http.Request) {
	party, err := s.upstream.relyingParty(r.Context())
	if err != nil {
		s.log.ErrorContext(r.Context(), "upstream sign-in", "error", err)
		signInError(w, http.StatusBadGateway, s.upstream.cfg.Name+" cannot be reached right now; try again.")
		return
	}
	rp.CodeExchangeHandler(rp.UserinfoCallback(s.upstreamSignedIn), party)(w, r)
}

func (s *Server) upstreamSignedIn(w http.ResponseWriter, r *http.Request, _ *oidc.Tokens[*oidc.IDTokenClaims], state string, _ rp.RelyingParty, info *oidc.UserInfo) {
	_, target, ok := strings.Cut(state, ".")
	if !ok {
		signInError(w, http.StatusBadRequest, "The sign-in state is malformed. Start again from your application.")
		return
	}
	user, msg := s.upstreamUser(r.Context(), info)
	if msg != "" {
		s.upstream.failed(r, "refused", map[string]any{"subject": info.Subject, "message": msg})
		signInError(w, http.StatusForbidden, msg)
		return
	}
	err := s.recordSignIn(r.Context(), signInUpstream, user, "", map[string]any{"provider": s.upstream.cfg.Issuer, "subject": info.Subject})
	if err != nil {
		// No sign-in goes unrecorded.
		s.log.ErrorContext(r.Context(), "recording a sign-in", "user", user.ID, "error", err)
		signInError(w, http.StatusServiceUnavailable, "Kiln could not record the sign-in; try again.")
		return
	}
	if err := s.sessions.Start(r.Context(), w, user.ID); err != nil {
		s.log.ErrorContext(r.Context(), "starting a browser session", "user", user.ID, "error", err)
		signInError(w, http.StatusServiceUnavailable, "Kiln could not record the sign-in; try again.")
		return
	}
	switch {
	case strings.HasPrefix(target, targetAuthRequest):
		// Back to the consent page, now signed in.
		http.Redirect(w, r, "/oauth/login?id="+url.QueryEscape(strings.TrimPrefix(target, targetAuthRequest)), http.StatusSeeOther)
	case strings.HasPrefix(target, targetPath):
		next, ok := localPath(strings.TrimPrefix(target, targetPath))
		if !ok {
			signInError(w, http.StatusBadRequest, "The sign-in state is malformed. Start again from your application.")
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	default:
		signInError(w, http.StatusBadRequest, "The sign-in state is malformed. Start again from your application.")
	}
}

// upstreamUser finds (or, with Signup, creates) the Kiln user of a person
// the provider signed in. A known identity (issuer, subject) signs in as
// its user; otherwise a provider-verified email that exactly one Kiln user
// has links to that user. The message is for the person when there is no
// user.
func (s *Server) upstreamUser(ctx context.Context, info *oidc.UserInfo) (store.User, string) {
	const failed = "Kiln could not sign you in; try again."
	provider, subject := s.upstream.cfg.Issuer, info.Subject
	user, err := s.store.UserByIdentity(ctx, provider, subject)
	if err == nil {
		if err := s.store.TouchIdentity(ctx, provider, subject, s.now()); err != nil {
			s.log.WarnContext(ctx, "recording an upstream sign-in", "user", user.ID, "error", err)
		}
		return user, ""
	}
	if !errors.Is(err, store.ErrNotFound) {
		s.log.ErrorContext(ctx, "looking up an upstream identity", "error", err)
		return store.User{}, failed
	}
	now := s.now()
	link := func(u store.User) (store.User, string) {
		if err := s.store.LinkIdentity(ctx, &store.Identity{Provider: provider, Subject: subject, UserID: u.ID, Email: info.Email, LastLoginAt: &now}); err != nil {
			s.log.ErrorContext(ctx, "linking an upstream identity", "user", u.ID, "error", err)
			return store.User{}, failed
		}
		return u, ""
	}
	if info.Email != "" && bool(info.EmailVerified) {
		users, err := s.store.UsersByEmail(ctx, info.Email)
		if err != nil {
			s.log.ErrorContext(ctx, "looking up users by email", "error", err)
			return store.User{}, failed
		}
		if len(users) == 1 {
			// A user already linked to another account at this provider is
			// not taken over by a second account with the same address (a
			// recycled or reassigned email).
			ids, err := s.store.ListIdentities(ctx, users[0].ID)
			if err != nil {
				s.log.ErrorContext(ctx, "looking up a user's identities", "user", users[0].ID, "error", err)
				return store.User{}, failed
			}
			for _, id := range ids {
				if id.Provider == provider {
					return store.User{}, "The Kiln account for " + info.Email + " is linked to another " + s.upstream.cfg.Name + " account; ask your Kiln operator."
				}
			}
			return link(users[0])
		}
		if len(users) > 1 {
			return store.User{}, "More than one Kiln account has the address " + info.Email + "; ask your Kiln operator to link yours."
		}
	}
	if !s.upstream.cfg.Signup {
		who := info.Email
		if who == "" {
			who = "this " + s.upstream.cfg.Name + " account"
		}
		return store.User{}, "There is no Kiln account for " + who + ". Ask your Kiln operator for access."
	}
	name := info.Name
	if name == "" {
		name = info.Email
	}
	if name == "" {
		name = subject
	}
	cust := store.Customer{Name: name, Tier: tier.Free}
	if err := s.store.CreateCustomer(ctx, &cust); err != nil {
		s.log.ErrorContext(ctx, "signing up an upstream user", "error", err)
		return store.User{}, failed
	}
	// Only an address the provider verified is kept: a later sign-in links
	// by verified address, and must not find an address someone merely
	// claimed.
	email := ""
	if bool(info.EmailVerified) {
		email = info.Email
	}
	u := store.User{CustomerID: cust.ID, Email: email, DisplayName: name, Role: store.RoleOwner}
	if err := s.store.CreateUser(ctx, &u); err != nil {
		s.log.ErrorContext(ctx, "signing up an upstream user", "error", errors.Join(err, s.store.DeleteCustomer(ctx, cust.ID)))
		return store.User{}, failed
	}
	user, msg := link(u)
	if msg != "" {
		if err := s.store.DeleteCustomer(ctx, cust.ID); err != nil {
			s.log.ErrorContext(ctx, "removing a half-made signup", "customer", cust.ID, "error", err)
		}
	}
	return user, msg
}
