package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kilnhq/kiln/pkg/api"
	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/websession"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

func runServe(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "serve", "[flags]",
		"Runs the Kiln service: the user API (/api/v1), the operator API (/api/v1/admin)\n"+
			"and /healthz. It opens the database and applies migrations first.\n\n"+
			"With no configuration it runs in development mode: it listens on 127.0.0.1:8080,\n"+
			"keeps its state in ./kiln-data and generates a master key, an operator token and\n"+
			"a library signing key there (mode 0600), saying so in the log.\n\n"+
			"KILN_ENV=production refuses to start without KILN_MASTER_KEY (base64 of 32 random\n"+
			"bytes), KILN_OPERATOR_TOKEN (at least 32 characters) and an https KILN_PUBLIC_URL.\n"+
			"Secrets are read from the environment only, never from flags.\n\n"+
			"SIGTERM or SIGINT shut it down gracefully.")
	cfg.RegisterServe(fs, env.getenv)
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, nil))
	// Libraries that log on their own (zitadel's op through slog.Default
	// and the standard log package) go through the same handler: one
	// format on stderr. Only the process entry point sets the default;
	// serve and the tests pass logger explicitly.
	slog.SetDefault(logger)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitUsage
	}
	resolved, err := cfg.Resolve(env.getenv, logger)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitUsage
	}
	// Process-wide, so here at the entry point and not in serve (memlimit.go says why).
	setMemoryLimit(os.DirFS("/"), cfg.MemoryLimitPercent, logger)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, &cfg, resolved, logger); err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitFailed
	}
	return exitOK
}

// serve runs the service until ctx is done, then drains requests. It
// constructs every service the API uses and passes them in.
func serve(ctx context.Context, cfg *config.Config, resolved config.Resolved, logger *slog.Logger) (err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()

	engine, err := sandbox.NewEngine(ctx, sandbox.Config{CacheDir: cfg.CacheDir()})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, engine.Close(context.WithoutCancel(ctx))) }()
	box, err := secrets.New(resolved.MasterKey)
	if err != nil {
		return err
	}
	catalog := tier.NewCatalog(st)
	allowPrivate, err := cfg.AllowPrivatePrefixes()
	if err != nil {
		return err
	}
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	var limiter ratelimit.Limiter = ratelimit.NewLocal()
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("--redis-url/KILN_REDIS_URL: %w", err)
		}
		rdb := redis.NewClient(opts)
		defer func() { err = errors.Join(err, rdb.Close()) }()
		limiter = ratelimit.NewRedis(rdb, ratelimit.RedisOptions{OnError: func(err error) {
			logger.Warn("rate limits fell back to this node's counters", "error", err)
		}})
	}
	// The OAuth 2.1 authorization server: its issuer is the public URL,
	// and the MCP host accepts the access tokens it signs.
	// One session manager: the OAuth login page starts the sessions the
	// user API accepts.
	sessions := websession.New(st, strings.HasPrefix(resolved.PublicURL, "https://"))
	ac := oauth.Config{Store: st, Secrets: box, PublicURL: resolved.PublicURL, Logger: logger, Sessions: sessions,
		Limiter: limiter, TrustedProxies: proxies}
	if cfg.OIDCIssuer != "" {
		ac.Upstream = &oauth.UpstreamConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID,
			ClientSecret: resolved.OIDCClientSecret.Reveal(), Name: cfg.OIDCName, Signup: cfg.OIDCSignup}
	}
	as, err := oauth.New(ctx, ac)
	if err != nil {
		return err
	}
	mcp, err := newMCPHost(cfg, resolved, st, engine, catalog, box, as, limiter, proxies, allowPrivate, logger)
	if err != nil {
		return err
	}
	builder := &build.GoBuilder{Engine: engine, GoCache: cfg.GoCacheDir()}
	apiHandler, err := api.New(api.Deps{
		Logger: logger, Store: st, Catalog: catalog, Engine: engine,
		Builds: build.NewPool(builder, cfg.BuildWorkers), Secrets: box,
		OperatorToken: resolved.OperatorToken, LibraryKeys: resolved.LibraryKeys,
		Deployer: mcp, Sessions: sessions,
	})
	if err != nil {
		return err
	}
	// The MCP endpoints and the REST API are separate handlers: /mcp/ speaks
	// MCP (JSON-RPC over Streamable HTTP), everything else is the API.
	handler := http.NewServeMux()
	handler.Handle("/mcp/", mcp.Handler())
	// OAuth: RFC 9728 metadata of each MCP server, then the authorization
	// server (RFC 8414 and OIDC discovery, registration, login, op's routes).
	handler.Handle("/.well-known/oauth-protected-resource/", mcp.ProtectedResourceMetadata())
	handler.Handle("/.well-known/oauth-authorization-server", as.Handler())
	handler.Handle("/.well-known/openid-configuration", as.Handler())
	handler.Handle("/oauth/", as.Handler())
	handler.Handle("/", apiHandler)
	oauthCtx, stopOAuth := context.WithCancel(ctx)
	oauthDone := make(chan struct{})
	go func() { defer close(oauthDone); _ = as.Run(oauthCtx) }() // returns ctx.Err() only
	defer func() { stopOAuth(); <-oauthDone }()
	mcpCtx, stopMCP := context.WithCancel(ctx)
	mcpDone := make(chan error, 1)
	go func() { mcpDone <- mcp.Run(mcpCtx) }()
	defer func() {
		stopMCP()
		if runErr := <-mcpDone; runErr != nil && !errors.Is(runErr, context.Canceled) {
			err = errors.Join(err, runErr)
		}
	}()

	ln, err := listen(cfg.Addr, cfg.HTTP, proxies, logger)
	if err != nil {
		return err
	}
	srv := newHTTPServer(cfg.HTTP, handler)
	logger.Info("kiln serving", "addr", ln.Addr().String(), "public_url", resolved.PublicURL,
		"data_dir", cfg.DataDir, "database", st.Dialect(), "env", cfg.Env)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// openStore opens the configured database and applies its migrations.
// Concurrent starts are safe: Migrate serializes them.
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*store.Store, error) {
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

// newMCPHost builds the MCP serving host: one endpoint per deployed server.
func newMCPHost(cfg *config.Config, resolved config.Resolved, st *store.Store, engine *sandbox.Engine,
	catalog *tier.Catalog, box *secrets.Box, as *oauth.Server, limiter ratelimit.Limiter, proxies, allowPrivate []netip.Prefix,
	logger *slog.Logger) (*mcphost.Host, error) {
	return mcphost.New(mcphost.Config{
		Store: st, Engine: engine, Catalog: catalog, Secrets: box, PublicURL: resolved.PublicURL,
		Logger: logger, Egress: egress.Policy{AllowPrivate: allowPrivate},
		RecordPayloads: func(s store.Server) bool { return s.RecordPayloads },
		OAuth:          &mcphost.OAuthConfig{Issuer: as.Issuer(), Verifier: as},
		Limiter:        limiter, TrustedProxies: proxies, IPRequestsPerMinute: cfg.MCPIPRequestsPerMinute,
	})
}
