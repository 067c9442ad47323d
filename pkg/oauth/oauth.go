// Package oauth is Kiln's OAuth 2.1 authorization server for MCP clients,
// built on github.com/zitadel/oidc/v3 pkg/op with a SQL-backed op.Storage.
//
// What Kiln adds to op: dynamic client registration (RFC 7591), the
// resource parameter (RFC 8707) required at /authorize, stored with the
// grant and made the access token's audience, PKCE with S256 required,
// RFC 8414 metadata, the iss authorization response parameter (RFC 9207),
// refresh token rotation with reuse detection, and local accounts with a
// login and consent page, and sign-in through an upstream OpenID Connect
// provider (pkg/client/rp).
//
// Routes (mount Handler at "/oauth/" and at the two well-known paths, with
// the path intact: the handler serves absolute paths):
//
//	/.well-known/oauth-authorization-server   RFC 8414 metadata
//	/.well-known/openid-configuration         the same, for OIDC clients
//	/oauth/register                           RFC 7591 registration
//	/oauth/login                              login and consent page (?id=), or sign-in (?next=)
//	/oauth/logout                             sign out (POST)
//	/oauth/upstream/start, /oauth/upstream/callback   upstream OIDC sign-in
//	/oauth/authorize, /oauth/token, /oauth/keys, /oauth/revoke, ...  op
package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// Lifetimes of what the server issues.
const (
	AccessTokenTTL  = 10 * time.Minute
	RefreshTokenTTL = 30 * 24 * time.Hour
	authRequestTTL  = 10 * time.Minute
	codeTTL         = time.Minute
)

// Login lockout: after maxFailedLogins wrong passwords in a row the account
// is locked for lockoutFor.
const (
	maxFailedLogins = 5
	lockoutFor      = 15 * time.Minute
)

// Scopes Kiln grants. MCP clients that ask for none get defaultScopes.
const scopeMCP = auth.ScopeMCP

// Config configures the authorization server.
type Config struct {
	Store   *store.Store
	Secrets *secrets.Box
	// PublicURL is Kiln's base URL; it is the issuer, and MCP servers'
	// resource URLs are PublicURL + "/mcp/" + server ID.
	PublicURL string
	// Logger receives operational logs (sign-in failures, refused
	// registrations). Nil: slog.Default().
	Logger *slog.Logger
	// Sessions are the signed-in browsers, shared with the user API (nil:
	// a manager of the authorization server's own on Store). Times come
	// from Store's clock (store.Store.WithClock), the one every stored
	// time is written and compared with.
	Sessions *websession.Manager
	// Limiter counts login and registration attempts per client address
	// (nil: a per-process limiter).
	Limiter ratelimit.Limiter
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed
	// when counting attempts per client address.
	TrustedProxies []netip.Prefix
	// Upstream, when set, offers sign-in through an OpenID Connect
	// provider beside local accounts.
	Upstream *UpstreamConfig
}

// Server is the authorization server. It is safe for concurrent use.
type Server struct {
	store    *store.Store
	box      *secrets.Box
	issuer   string
	log      *slog.Logger
	now      func() time.Time
	provider *op.Provider
	handler  http.Handler

	keysMu     sync.Mutex
	keys       []signingKey // newest first
	keysLoaded time.Time

	cimd *cimdFetcher

	limiter        ratelimit.Limiter
	trustedProxies []netip.Prefix
	hashSlots      chan struct{}

	sessions *websession.Manager
	upstream *upstream // nil: local accounts only
}

// New builds the authorization server, creating a signing key on first use
// of the database.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Secrets == nil {
		return nil, errors.New("oauth: Store and Secrets are required")
	}
	issuer := strings.TrimSuffix(cfg.PublicURL, "/")
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oauth: public URL %q is not an absolute http(s) URL", cfg.PublicURL)
	}
	s := &Server{store: cfg.Store, box: cfg.Secrets, issuer: issuer, log: cfg.Logger, now: cfg.Store.Now, sessions: cfg.Sessions,
		cimd: newCIMDFetcher(), limiter: cfg.Limiter, trustedProxies: cfg.TrustedProxies, hashSlots: make(chan struct{}, maxConcurrentHashes)}
	if s.limiter == nil {
		s.limiter = ratelimit.NewLocal()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.sessions == nil {
		s.sessions = websession.New(websession.Config{Store: s.store, Secure: u.Scheme == "https"})
	}
	if cfg.Upstream != nil {
		if s.upstream, err = s.newUpstream(*cfg.Upstream); err != nil {
			return nil, err
		}
	}
	if err := s.loadKeys(ctx); err != nil {
		return nil, err
	}
	// The crypto key encrypts codes (which are also stored only as hashes
	// and looked up by hash) and opaque tokens (not used: access tokens are
	// JWTs), so a per-process random key is enough.
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("oauth: generating crypto key: %w", err)
	}
	opts := []op.Option{}
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:             cryptoKey,
		CodeMethodS256:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       supportedScopes(),
	}, &storage{s: s}, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oauth: creating provider: %w", err)
	}
	s.provider = provider
	endpoints := opEndpoints()
	legacy := &legacyServer{LegacyServer: op.NewLegacyServer(provider, endpoints), s: s}
	opHandler := op.RegisterServer(legacy, endpoints, op.WithServerCORSOptions(corsOptions()))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.serveMetadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveMetadata)
	mux.HandleFunc("POST /oauth/register", s.limited("register", registerLimit, s.serveRegister))
	mux.HandleFunc("OPTIONS /oauth/register", preflight)
	mux.HandleFunc("OPTIONS /.well-known/", preflight)
	mux.HandleFunc("/oauth/login", s.limited("login", loginLimit, s.withIssuer(s.serveLogin)))
	mux.HandleFunc("/oauth/authorize", s.withIssuer(mayFetchCIMD(opHandler.ServeHTTP)))
	mux.HandleFunc("POST /oauth/logout", s.serveLogout)
	if s.upstream != nil {
		mux.HandleFunc("GET "+upstreamStartPath, s.serveUpstreamStart)
		mux.HandleFunc("GET "+upstreamCallbackPath, s.serveUpstreamCallback)
	}
	// Token, introspection and userinfo responses hold credentials or
	// claims: caches must not keep them (OAuth 2.1 3.2.3). op sets no
	// Cache-Control itself.
	noStore := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		opHandler.ServeHTTP(w, r)
	}
	mux.HandleFunc("/oauth/token", noStore)
	mux.HandleFunc("/oauth/introspect", noStore)
	mux.HandleFunc("/oauth/userinfo", noStore)
	mux.Handle("/oauth/", opHandler)
	// op reads the issuer from the context, which RegisterServer does not set.
	s.handler = s.withRequestInfo(op.NewIssuerInterceptor(provider.IssuerFromRequest).Handler(mux))
	return s, nil
}

// Issuer is the authorization server's issuer URL.
func (s *Server) Issuer() string { return s.issuer }

// Handler serves the routes listed in the package comment.
func (s *Server) Handler() http.Handler { return s.handler }

func supportedScopes() []string { return []string{scopeMCP, "offline_access", "openid"} }

// corsOptions replace op's default, which reflects any origin and allows
// credentials. Browser-based MCP clients need to reach the token,
// revocation and key endpoints from their own origin, but never with the
// user's cookies: nothing cookie-authenticated may be readable across
// origins.
func corsOptions() *cors.Options {
	return &cors.Options{
		AllowedOrigins:   []string{"*"},
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "MCP-Protocol-Version"},
		AllowCredentials: false,
		MaxAge:           600,
	}
}

// opEndpoints are op's routes, absolute paths under /oauth/ so that no
// StripPrefix is needed and the token URL is not doubled.
func opEndpoints() op.Endpoints {
	return op.Endpoints{
		Authorization: op.NewEndpoint("/oauth/authorize"),
		Token:         op.NewEndpoint("/oauth/token"),
		Introspection: op.NewEndpoint("/oauth/introspect"),
		Userinfo:      op.NewEndpoint("/oauth/userinfo"),
		Revocation:    op.NewEndpoint("/oauth/revoke"),
		EndSession:    op.NewEndpoint("/oauth/end_session"),
		JwksURI:       op.NewEndpoint("/oauth/keys"),
	}
}

// resourceServerID returns the server ID a resource URL names, or false
// when it is not the URL of a Kiln MCP server on this issuer.
func (s *Server) resourceServerID(resource string) (string, bool) {
	return auth.ServerIDOf(s.issuer, resource)
}
