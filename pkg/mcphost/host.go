// Package mcphost serves every Kiln server as an MCP endpoint at
// /mcp/{server}, over Streamable HTTP in stateless mode, with the
// modelcontextprotocol go-sdk.
//
//	host, err := mcphost.New(mcphost.Config{Store: st, Engine: engine, Catalog: catalog,
//		Secrets: box, PublicURL: "https://kiln.example.com"})
//	mux.Handle("/mcp/", host.Handler())
//	go host.Run(ctx)                       // compiles deployed modules, follows changes
//	...
//	err = host.Reload(ctx, serverID)       // after the API changed a server
//
// Each deployed server has one *mcp.Server, built when the server is
// deployed (never per request) and kept in a registry; a request finds it
// with one map lookup. A tool call runs the module in the sandbox (which
// checks the arguments against the manifest's input schema) with the limits
// of the owning customer's plan (looked up for the request and passed
// down), the server's env vars and secrets, and words every sandbox result
// as a tool result an agent can read. Every call is written to the execution log.
//
// Servers are private: a request needs an API key scoped to that server
// (auth.go). Rate limits apply per client IP, per server and per customer
// (limits.go). Changes made on any node reach every node through PostgreSQL
// LISTEN/NOTIFY, with a periodic resync for missed notifications (sync.go).
package mcphost

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Config configures a Host. Store, Engine, Catalog, Secrets and PublicURL
// are required.
type Config struct {
	Store   *store.Store
	Engine  *sandbox.Engine
	Catalog *tier.Catalog
	// Secrets opens the sealed env var values of servers.
	Secrets *secrets.Box
	// PublicURL is the base URL clients reach Kiln at, such as
	// https://kiln.example.com: the resource metadata URL in 401 answers
	// is built from it, and its host is accepted by the DNS rebinding check.
	PublicURL string
	// OAuth, when set, also admits OAuth access tokens whose audience is
	// the server's resource URL, and makes the protected resource metadata
	// name its issuer as the authorization server.
	OAuth *OAuthConfig
	// Logger receives operational logs. Nil: slog.Default().
	Logger *slog.Logger

	// ResyncInterval is how often every deployed server is compared with
	// the database, so that a node which missed a notification converges
	// (default 30s; negative disables it, for tests of notifications). It
	// is also how long a cached API key or plan is trusted without notice
	// of a change (access.go); negative: until a notification drops it.
	ResyncInterval time.Duration

	// Limiter counts the rate limits: ratelimit.NewRedis shares them between
	// nodes (kiln serve builds one for --redis-url, also used by pkg/oauth);
	// nil counts them per process.
	Limiter ratelimit.Limiter
	// IPRequestsPerMinute limits the MCP requests of one client IP, before
	// authentication (default 600).
	IPRequestsPerMinute int
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For header names the client. Requests from other
	// addresses are attributed to their own address.
	TrustedProxies []netip.Prefix

	// Egress is the network policy template for tool calls: the operator's
	// AllowPrivate ranges and caps. Allow comes from the server's allowed
	// hosts (or the module's declared egress) and MaxRequests from the plan.
	Egress egress.Policy
	// EgressOptions tune the egress client (tests: resolver, root CAs).
	EgressOptions []egress.Option
	// LogBytes caps what one call may log (default 64 KiB).
	LogBytes int
	// MaxEnvValueBytes caps one X-Kiln-Env-* header value (default 4 KiB).
	MaxEnvValueBytes int

	// RecordPayloads says whether a server's owner asked for arguments and
	// results to be kept in the execution log. The store has no such
	// setting yet; nil means never.
	RecordPayloads func(store.Server) bool
	// RecordingBytes bounds what a recorded call keeps of its own reads
	// from the host, for replay (default DefaultRecordingBytes; past it the
	// recording is marked truncated, recording.go). The stored recording is
	// larger: a warm call's also holds its snapshot's initialisation reads
	// (up to 64 KiB, sandbox's initRecordLimit), and the encoding (base64
	// in the tape, base64 of the sealed tape) makes it up to about 1.8
	// times its reads.
	RecordingBytes int
	// EnvAssociatedData is the associated data env values were sealed with
	// (default: secrets.EnvValueAssociatedData, as pkg/api seals them).
	EnvAssociatedData func(serverID, name string) []byte
	// CompileWorkers bounds how many servers are loaded at once in the
	// background (default 2): compiling is CPU-bound.
	CompileWorkers int
	// Observer, when set, is told each MCP message and tool call, for
	// metrics (observe.go).
	Observer Observer
	// AccessCacheSize bounds the API keys, and separately the customers'
	// plans, kept in memory (access.go; default apikey.DefaultCacheSize).
	AccessCacheSize int
	// Inputs bound the multi-round calls of modules that ask their
	// caller for input (input.go).
	Inputs InputLimits
}

// Defaults of Config.
const (
	DefaultResyncInterval      = 30 * time.Second
	DefaultIPRequestsPerMinute = 600
	DefaultLogBytes            = 64 << 10
	DefaultMaxEnvValueBytes    = 4 << 10
	DefaultCompileWorkers      = 2
)

// Host serves MCP for every deployed server. Its methods are safe for
// concurrent use.
type Host struct {
	cfg        Config
	log        *slog.Logger
	sdkLog     *slog.Logger // log for the go-sdk (sdklog.go)
	store      *store.Store
	engine     *sandbox.Engine
	catalog    *tier.Catalog
	publicURL  string
	publicHost string
	limiter    ratelimit.Limiter

	reg     *registry
	modules *moduleCache
	keys    *apikey.Cache // API keys by hash (access.go)
	plans   *planCache    // customers' plans (access.go)
	execs   *execLog      // the execution log's writer (execlog.go)
	calls   inflight      // running calls a client may cancel (notify.go)
	locks   keyedMutex
	mcp     *mcp.StreamableHTTPHandler
	handler http.Handler

	// stateKey authenticates the requestStates of multi-round calls
	// (input.go), derived from the master key.
	stateKey []byte

	// node identifies this process in notifications, so it can skip its own.
	node string

	// loaded is closed when Run's first load of every server is done.
	loaded     chan struct{}
	loadedOnce sync.Once
}

// New checks cfg and builds a Host. It does not touch the database beyond
// opening the notification connection: call Run to load servers.
func New(cfg Config) (*Host, error) {
	switch {
	case cfg.Store == nil, cfg.Engine == nil, cfg.Catalog == nil, cfg.Secrets == nil:
		return nil, errors.New("mcphost: Config needs Store, Engine, Catalog and Secrets")
	case cfg.PublicURL == "":
		return nil, errors.New("mcphost: Config.PublicURL is required")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("mcphost: PublicURL %q must be an absolute http(s) URL", cfg.PublicURL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ResyncInterval == 0 {
		cfg.ResyncInterval = DefaultResyncInterval
	}
	if cfg.IPRequestsPerMinute <= 0 {
		cfg.IPRequestsPerMinute = DefaultIPRequestsPerMinute
	}
	if cfg.LogBytes <= 0 {
		cfg.LogBytes = DefaultLogBytes
	}
	if cfg.MaxEnvValueBytes <= 0 {
		cfg.MaxEnvValueBytes = DefaultMaxEnvValueBytes
	}
	if cfg.CompileWorkers <= 0 {
		cfg.CompileWorkers = DefaultCompileWorkers
	}
	if cfg.EnvAssociatedData == nil {
		cfg.EnvAssociatedData = secrets.EnvValueAssociatedData
	}
	if cfg.RecordingBytes <= 0 {
		cfg.RecordingBytes = DefaultRecordingBytes
	}
	if cfg.RecordPayloads == nil {
		cfg.RecordPayloads = func(store.Server) bool { return false }
	}
	h := &Host{
		cfg: cfg, log: cfg.Logger, sdkLog: sdkLogger(cfg.Logger), store: cfg.Store, engine: cfg.Engine, catalog: cfg.Catalog,
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), publicHost: pub.Host,
		reg: newRegistry(), modules: newModuleCache(), node: newNodeID(),
		loaded: make(chan struct{}),
	}
	if h.stateKey, err = cfg.Secrets.DeriveKey(inputStatePurpose, sha256.Size); err != nil {
		return nil, fmt.Errorf("mcphost: %w", err)
	}
	if h.keys, err = apikey.NewCache(h.store, apikey.CacheConfig{Size: cfg.AccessCacheSize, TTL: cfg.ResyncInterval, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	if h.plans, err = newPlanCache(h.catalog, cmp.Or(max(cfg.AccessCacheSize, 0), apikey.DefaultCacheSize), cfg.ResyncInterval); err != nil {
		return nil, err
	}
	h.execs = newExecLog(h.store.JournalExecutions, func(e *store.Execution, err error) {
		h.log.Error("writing the execution log", "server", e.ServerID, "tool", e.ToolName, "error", err)
	})
	h.limiter = cfg.Limiter
	if h.limiter == nil {
		h.limiter = ratelimit.NewLocal()
	}
	h.mcp = mcp.NewStreamableHTTPHandler(h.getServer, &mcp.StreamableHTTPOptions{
		// Stateless: any node can answer any request, and there is no
		// session a request for one server could borrow from another.
		Stateless: true,
		// Kiln checks the Host header itself (Host.rebinding), knowing its
		// public name; the SDK's check refuses every request that a
		// reverse proxy on the same machine forwards.
		DisableLocalhostProtection: true,
		// A client that goes away cancels its call, and the module with it.
		PropagateRequestCancellation: true,
		Logger:                       h.sdkLog,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp/{server}", h.serveMCP)
	h.handler = mux
	return h, nil
}

// FlushExecutions waits until every execution row queued before it was
// called is written, or ctx ends. A call's own row is written before the
// call answers (execlog.go); this is for rows of calls still running.
func (h *Host) FlushExecutions(ctx context.Context) error { return h.execs.flush(ctx) }

// Close writes the execution log rows still queued, waiting at most until
// ctx ends; rows of calls that finish later are written before their
// answer. Call it after the HTTP server stopped and before the store
// closes.
func (h *Host) Close(ctx context.Context) error {
	if err := h.execs.close(ctx); err != nil {
		return fmt.Errorf("mcphost: writing the execution log: %w", err)
	}
	return nil
}

// Loaded is closed once Run has loaded every server that existed when it
// started: a readiness signal. Requests are served before that (a server
// not loaded yet is loaded by its first request), only more slowly.
func (h *Host) Loaded() <-chan struct{} { return h.loaded }

// Handler serves /mcp/{server}. Mount it at /mcp/ with the path intact.
func (h *Host) Handler() http.Handler { return h.handler }

// ResourceURL is the URL of a server's MCP endpoint: the resource an OAuth
// token for it names.
func (h *Host) ResourceURL(serverID string) string { return auth.ResourceURL(h.publicURL, serverID) }

// resourceMetadataURL is where a client learns how to get a token for a
// server (RFC 9728); the OAuth work serves it.
func (h *Host) resourceMetadataURL(serverID string) string {
	return auth.ResourceMetadataURL(h.publicURL, serverID)
}
