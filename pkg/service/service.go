// Package service wires Kiln together: it constructs every part of the
// service from one configuration, in one place, for `kiln serve` and for
// every test that needs the whole service (servicetest starts one in a
// line). Nothing else builds these parts for production.
//
//	svc, err := service.New(ctx, service.Options{Config: &cfg, Resolved: resolved, Getenv: os.Getenv, Logger: logger})
//	defer svc.Close(ctx)
//	go svc.Run(ctx)                           // background work until ctx ends
//	http.Serve(ln, svc.Handler())
package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/kilnhq/kiln/pkg/api"
	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/devlibrary"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/web"
	"github.com/kilnhq/kiln/pkg/websession"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Service is one Kiln node: its store, sandbox engine, MCP host and
// authorization server, behind one HTTP handler.
type Service struct {
	Store  *store.Store
	Engine *sandbox.Engine
	MCP    *mcphost.Host
	OAuth  *oauth.Server
	Wizard *wizard.Wizard
	// Metrics are the node's Prometheus metrics (metrics.go).
	Metrics *Metrics
	// TrustedProxies are the reverse proxies whose forwarded addresses
	// are believed (the listener's per-address bound needs them too).
	TrustedProxies []netip.Prefix

	handler http.Handler
	log     *slog.Logger
	// devLibrary builds the curated library in development (nil: off).
	devLibrary *devlibrary.Library
	// draining is set by Drain; migrated once Ready found the migrations
	// current (lifecycle.go).
	draining, migrated atomic.Bool
	// closers release what New opened, run in reverse order by Close.
	closers []func(context.Context) error
}

// Options are what a node is built from.
type Options struct {
	Config   *config.Config
	Resolved config.Resolved
	// Getenv reads the settings that live only in the environment: the
	// LLM providers and their keys (KILN_LLM_PROVIDERS, KILN_LLM_KEY_n).
	Getenv func(string) string
	// Logger is the node's log, handed to every part. Nil: slog.Default(),
	// as for every Config of Kiln's services (ARCHITECTURE.md).
	Logger *slog.Logger
}

// New opens and migrates the database and constructs every part of the
// service. On error, whatever it had opened is closed again.
func New(ctx context.Context, opts Options) (_ *Service, err error) {
	cfg, resolved, logger := opts.Config, opts.Resolved, cmp.Or(opts.Logger, slog.Default())
	s := &Service{log: logger, Metrics: newMetrics()}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close(context.WithoutCancel(ctx)))
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	if s.Store, err = OpenStore(ctx, cfg, logger); err != nil {
		return nil, err
	}
	s.onClose(func(context.Context) error { return s.Store.Close() })
	pool := cfg.DB.OrDefaults()
	s.Store.SetPool(store.PoolConfig{MaxOpenConns: pool.MaxOpenConns, MaxIdleConns: pool.MaxIdleConns,
		ConnMaxLifetime: pool.ConnMaxLifetime, ConnMaxIdleTime: pool.ConnMaxIdleTime})
	s.Store.SyncExecutions(pool.SyncExecutionLog)
	if s.Engine, err = sandbox.NewEngine(ctx, sandbox.Config{CacheDir: cfg.CacheDir()}); err != nil {
		return nil, err
	}
	s.onClose(s.Engine.Close)
	s.Metrics.registerStats(s.Store, s.Engine)
	box, err := secrets.New(resolved.MasterKey)
	if err != nil {
		return nil, err
	}
	if s.TrustedProxies, err = cfg.TrustedProxyPrefixes(); err != nil {
		return nil, err
	}
	limiter, err := s.newLimiter(cfg)
	if err != nil {
		return nil, err
	}
	limiter = countingLimiter{limiter, s.Metrics}
	// One session manager: the OAuth login page starts the sessions the
	// user API accepts.
	sessions := websession.New(websession.Config{Store: s.Store, Secure: strings.HasPrefix(resolved.PublicURL, "https://")})
	if s.OAuth, err = newOAuth(ctx, cfg, resolved, s.Store, box, sessions, limiter, s.TrustedProxies, logger); err != nil {
		return nil, err
	}
	catalog := tier.NewCatalog(s.Store)
	if s.MCP, err = s.newMCPHost(cfg, resolved, catalog, box, limiter); err != nil {
		return nil, err
	}
	s.onClose(s.MCP.Close) // writes the queued execution log before the store closes
	// One build pool: the API's tool builds and the wizard's share the
	// workers and each customer's share of them.
	builds := build.NewPool(build.PoolConfig{Builder: &build.GoBuilder{Engine: s.Engine, GoCache: cfg.GoCacheDir()}, Workers: cfg.BuildWorkers,
		OnBuild: s.Metrics.Build})
	s.Metrics.registerBuilds(builds)
	if s.Wizard, err = s.newWizard(cfg, opts.Getenv, catalog, builds, box); err != nil {
		return nil, err
	}
	if s.devLibrary, err = s.newDevLibrary(cfg, resolved, builds); err != nil {
		return nil, err
	}
	apiHandler, err := api.New(api.Config{
		Logger: logger, Store: s.Store, Catalog: catalog, Engine: s.Engine,
		Builds: builds, Secrets: box,
		OperatorToken: resolved.OperatorToken, LibraryKeys: resolved.LibraryKeys,
		Deployer: s.MCP, Sessions: sessions, Wizard: s.Wizard, Ready: s.Ready,
	})
	if err != nil {
		return nil, err
	}
	// The browser front end answers its own paths and hands the rest to
	// the API.
	front, err := web.New(web.Config{Store: s.Store, Sessions: sessions, Logger: logger, PublicURL: resolved.PublicURL,
		FirstRun: cfg.Env == config.Development, Signup: cfg.Env == config.Development, Upstream: upstreamName(cfg)})
	if err != nil {
		return nil, err
	}
	tracer, flushTraces, err := newTracing(ctx, cfg.Observe)
	if err != nil {
		return nil, err
	}
	s.onClose(flushTraces)
	s.handler = withRequestID(traceRequests(tracer, s.routes(front.Handler(apiHandler), resolved.OperatorToken.Reveal())))
	return s, nil
}

// onClose registers a release for Close.
func (s *Service) onClose(fn func(context.Context) error) { s.closers = append(s.closers, fn) }

// Close releases everything New opened, newest first. Run must have
// returned.
func (s *Service) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Handler serves every route of the node.
func (s *Service) Handler() http.Handler { return s.handler }

// routes puts the parts behind one handler. The MCP endpoints and the REST
// API are separate handlers: /mcp/ speaks MCP (JSON-RPC over Streamable
// HTTP), everything else is the API.
func (s *Service) routes(apiHandler http.Handler, operatorToken string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.operatorMetrics(operatorToken))
	mux.Handle("/mcp/", s.MCP.Handler())
	// OAuth: RFC 9728 metadata of each MCP server, then the authorization
	// server (RFC 8414 and OIDC discovery, registration, login, op's routes).
	mux.Handle("/.well-known/oauth-protected-resource/", s.MCP.ProtectedResourceMetadata())
	mux.Handle("/.well-known/oauth-authorization-server", s.OAuth.Handler())
	mux.Handle("/.well-known/openid-configuration", s.OAuth.Handler())
	mux.Handle("/oauth/", s.OAuth.Handler())
	mux.Handle("/", apiHandler)
	return mux
}

// Run does the node's background work until ctx ends: the MCP host loads
// and follows deployments, the authorization server cleans up, the wizard
// resumes sessions whose node died, and a development node builds the
// curated library. It returns
// the first error of either (after both stopped), or nil when ctx ended.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	if s.devLibrary != nil {
		// Not one of the parts: its failures are recorded, never the node's.
		wg.Go(func() { s.devLibrary.Run(ctx) })
	}
	for _, run := range []func(context.Context) error{s.MCP.Run, s.OAuth.Run, s.Wizard.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel() // one part failing stops the node's background work
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// OpenStore opens the configured database and applies its migrations.
// Concurrent starts are safe: Migrate serializes them.
func OpenStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	applied, err := st.AppliedMigrations(ctx)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	version := 0
	if len(applied) > 0 {
		version = applied[len(applied)-1].Version
	}
	logger.Info("database migrated", "database", st.Dialect(), "schema_version", version)
	return st, nil
}

// newLimiter counts rate limits in this process, or in Redis when the
// nodes share them.
func (s *Service) newLimiter(cfg *config.Config) (ratelimit.Limiter, error) {
	if cfg.RedisURL == "" {
		return ratelimit.NewLocal(), nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url/KILN_REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	s.onClose(func(context.Context) error { return rdb.Close() })
	// Loud once per change, quiet per event: a log line when the limits
	// stop and start being shared, and metrics (registerRedisLimiter).
	r := ratelimit.NewRedis(rdb, ratelimit.RedisOptions{
		OnError: func(err error) { s.log.Debug("rate limit decided by this node's counters", "error", err) },
		OnState: func(shared bool, err error) {
			if shared {
				s.log.Info("rate limits shared through Redis again")
				return
			}
			s.log.Error("rate limits fell back to this node's counters: Redis is unavailable", "error", err)
		},
	})
	s.Metrics.registerRedisLimiter(r)
	return r, nil
}

// newOAuth builds the OAuth 2.1 authorization server: its issuer is the
// public URL, and the MCP host accepts the access tokens it signs.
func newOAuth(ctx context.Context, cfg *config.Config, resolved config.Resolved, st *store.Store, box *secrets.Box,
	sessions *websession.Manager, limiter ratelimit.Limiter, proxies []netip.Prefix, logger *slog.Logger) (*oauth.Server, error) {
	ac := oauth.Config{Store: st, Secrets: box, PublicURL: resolved.PublicURL, Logger: logger, Sessions: sessions,
		Limiter: limiter, TrustedProxies: proxies}
	if cfg.OIDCIssuer != "" {
		ac.Upstream = &oauth.UpstreamConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID,
			ClientSecret: resolved.OIDCClientSecret.Reveal(), Name: cfg.OIDCName, Signup: cfg.OIDCSignup}
	}
	return oauth.New(ctx, ac)
}

// upstreamName names the configured OpenID provider for the sign-in
// choices ("" when none is configured).
func upstreamName(cfg *config.Config) string {
	if cfg.OIDCIssuer == "" {
		return ""
	}
	return cfg.OIDCName
}

// newMCPHost builds the MCP serving host: one endpoint per deployed server.
func (s *Service) newMCPHost(cfg *config.Config, resolved config.Resolved, catalog *tier.Catalog, box *secrets.Box,
	limiter ratelimit.Limiter) (*mcphost.Host, error) {
	allowPrivate, err := cfg.AllowPrivatePrefixes()
	if err != nil {
		return nil, err
	}
	return mcphost.New(mcphost.Config{
		Store: s.Store, Engine: s.Engine, Catalog: catalog, Secrets: box, PublicURL: resolved.PublicURL,
		Logger: s.log, Egress: egress.Policy{AllowPrivate: allowPrivate},
		RecordPayloads: func(srv store.Server) bool { return srv.RecordPayloads },
		OAuth:          &mcphost.OAuthConfig{Issuer: s.OAuth.Issuer(), Verifier: s.OAuth},
		Limiter:        limiter, TrustedProxies: s.TrustedProxies, IPRequestsPerMinute: cfg.MCPIPRequestsPerMinute,
		Observer: s.Metrics,
	})
}

// newWizard builds the wizard, with the LLM providers of the environment
// (none: the wizard says how to configure one, and the by-hand path works).
func (s *Service) newWizard(cfg *config.Config, getenv func(string) string, catalog *tier.Catalog, builds *build.Pool,
	box *secrets.Box) (*wizard.Wizard, error) {
	allowPrivate, err := cfg.AllowPrivatePrefixes()
	if err != nil {
		return nil, err
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	w, err := wizard.FromEnv(wizard.Config{Store: s.Store, Catalog: catalog, Engine: s.Engine, Builds: builds, Secrets: box,
		Logger: s.log, Egress: egress.Policy{AllowPrivate: allowPrivate}}, getenv, llm.Options{Logger: s.log, Record: s.Metrics.LLMRecord})
	if err != nil {
		return nil, err
	}
	s.onClose(func(context.Context) error { w.Close(); return nil })
	return w, nil
}

// newDevLibrary builds, signs and registers the curated library of a
// source checkout in the background of a development node
// (--dev-library); nil in production, or when the trusted keys come from
// KILN_LIBRARY_KEYS and the node has no development key to sign with.
func (s *Service) newDevLibrary(cfg *config.Config, resolved config.Resolved, builds *build.Pool) (*devlibrary.Library, error) {
	if cfg.Env != config.Development || !cfg.DevLibrary {
		return nil, nil
	}
	if resolved.LibrarySigningKey == nil {
		s.log.Info("development library: not built, since KILN_LIBRARY_KEYS names the trusted keys and the development key is not trusted")
		return nil, nil
	}
	return devlibrary.New(devlibrary.Config{Store: s.Store, Engine: s.Engine, Builds: builds, Key: resolved.LibrarySigningKey, Logger: s.log})
}
