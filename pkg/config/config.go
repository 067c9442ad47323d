// Package config holds the service's configuration: every setting is a
// command-line flag with a KILN_* environment variable of the same name, and
// the flag wins when both are given.
//
// Secrets (the master key, the operator token) are environment variables
// only, never flags, because a process's arguments are visible to every user
// of the machine. None has a default value: production refuses to start
// without them, and development generates them into the data directory
// (see Resolve).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Environment variables that have no flag, because they hold secrets.
const (
	EnvMasterKey     = "KILN_MASTER_KEY"
	EnvOperatorToken = "KILN_OPERATOR_TOKEN"
	// EnvOIDCClientSecret is Kiln's client secret at the upstream OpenID
	// Connect provider (empty for a public client).
	EnvOIDCClientSecret = "KILN_OIDC_CLIENT_SECRET"
)

// Config is the configuration shared by kiln's commands.
type Config struct {
	Addr         string // --addr, KILN_ADDR
	DataDir      string // --data-dir, KILN_DATA_DIR
	DatabaseURL  string // --database-url, KILN_DATABASE_URL; empty means SQLite in DataDir
	Env          string // --env, KILN_ENV
	PublicURL    string // --public-url, KILN_PUBLIC_URL; empty in development means http://<addr>
	LibraryKeys  string // --library-keys, KILN_LIBRARY_KEYS: trusted library signing keys
	BuildWorkers int    // --build-workers, KILN_BUILD_WORKERS
	RedisURL     string // --redis-url, KILN_REDIS_URL; empty: rate limits per node
	// Cache is the directory of the compiled-module and Go build caches
	// (--cache-dir, KILN_CACHE_DIR); empty means <data-dir>/cache.
	Cache string
	// DevLibrary builds, signs and registers the curated library of a
	// source checkout at start, in development only (--dev-library,
	// KILN_DEV_LIBRARY; default true).
	DevLibrary bool
	// EgressAllowPrivate lists address ranges tools may reach despite the
	// SSRF checks (--egress-allow-private, KILN_EGRESS_ALLOW_PRIVATE).
	EgressAllowPrivate string
	// TrustedProxies lists reverse proxies whose X-Forwarded-For is
	// believed for per-address limits (--trusted-proxies, KILN_TRUSTED_PROXIES).
	TrustedProxies string
	// Upstream OpenID Connect sign-in (--oidc-*, KILN_OIDC_*); off when
	// OIDCIssuer is empty.
	OIDCIssuer   string
	OIDCClientID string
	OIDCName     string
	OIDCSignup   bool
	// HTTP bounds slow and numerous clients (http.go).
	HTTP HTTPLimits
	// MCPIPRequestsPerMinute limits the MCP requests of one client address
	// (an IPv6 /64), counted before authentication
	// (--mcp-ip-requests-per-minute, KILN_MCP_IP_REQUESTS_PER_MINUTE).
	MCPIPRequestsPerMinute int
	// MemoryLimitPercent is the Go runtime's soft memory limit, in percent
	// of the memory available, when GOMEMLIMIT is not set; 0 sets none
	// (--memory-limit-percent, KILN_MEMORY_LIMIT_PERCENT).
	MemoryLimitPercent int
	// Observe are the log and metrics settings (observe.go).
	Observe Observe
	// Drain is how serve stops on SIGTERM; DB bounds the database
	// connection pool (lifecycle.go).
	Drain Drain
	DB    DBPool

	// envErrs are environment values that could not be parsed when the
	// flags were registered; Validate reports them.
	envErrs []error
	// serve says RegisterServe ran, so the service's settings are checked.
	serve bool
}

// Getenv looks up an environment variable; os.Getenv in production, a map in tests.
type Getenv func(string) string

func orDefault(getenv Getenv, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// RegisterStorage adds --data-dir, --database-url and --env to fs.
func (c *Config) RegisterStorage(fs *flag.FlagSet, getenv Getenv) {
	fs.StringVar(&c.DataDir, "data-dir", orDefault(getenv, "KILN_DATA_DIR", "./kiln-data"),
		"directory for the embedded database, caches and generated dev secrets (env KILN_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("KILN_DATABASE_URL"),
		"postgres://... to use PostgreSQL; empty uses SQLite in the data dir (env KILN_DATABASE_URL)")
	fs.StringVar(&c.Env, "env", orDefault(getenv, "KILN_ENV", Development),
		"development or production (env KILN_ENV)")
}

// DefaultBuildWorkers is how many tool builds run at once by default: a
// build uses several cores for up to a minute.
const DefaultBuildWorkers = 2

// DefaultMCPIPRequestsPerMinute, 10 a second, is above what a few agents
// behind one address send, and below what guessing keys or flooding from one
// source needs. Raise it for many clients behind one NAT that is not a
// trusted proxy.
const DefaultMCPIPRequestsPerMinute = 600

// RegisterServe adds the storage flags and the service's own to fs.
func (c *Config) RegisterServe(fs *flag.FlagSet, getenv Getenv) {
	c.serve = true
	fs.StringVar(&c.Addr, "addr", orDefault(getenv, "KILN_ADDR", "127.0.0.1:8080"),
		"address to listen on (env KILN_ADDR)")
	c.RegisterStorage(fs, getenv)
	fs.StringVar(&c.PublicURL, "public-url", getenv("KILN_PUBLIC_URL"),
		"the URL clients reach this service at, base of OAuth issuer and MCP resource URLs; https in production,\ndefault http://<addr> in development (env KILN_PUBLIC_URL)")
	fs.StringVar(&c.LibraryKeys, "library-keys", getenv("KILN_LIBRARY_KEYS"),
		"public keys (ed25519:<base64>, separated by commas) whose signatures library uploads must carry;\nempty in development trusts a generated key in the data dir (env KILN_LIBRARY_KEYS)")
	fs.IntVar(&c.BuildWorkers, "build-workers", c.envInt(getenv, "KILN_BUILD_WORKERS", DefaultBuildWorkers),
		"how many tool builds may run at once (env KILN_BUILD_WORKERS)")
	fs.StringVar(&c.RedisURL, "redis-url", getenv("KILN_REDIS_URL"),
		"redis://... to share rate limits between nodes; empty keeps them per node (env KILN_REDIS_URL)")
	fs.StringVar(&c.EgressAllowPrivate, "egress-allow-private", getenv("KILN_EGRESS_ALLOW_PRIVATE"),
		"address ranges (such as 10.1.0.0/16, separated by commas) tools may reach despite the SSRF checks;\nempty refuses every private address (env KILN_EGRESS_ALLOW_PRIVATE)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", getenv("KILN_TRUSTED_PROXIES"),
		"address ranges of reverse proxies whose X-Forwarded-For is believed when limiting per client address;\nempty believes no one (env KILN_TRUSTED_PROXIES)")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", getenv("KILN_OIDC_ISSUER"),
		"issuer URL of an OpenID Connect provider people may sign in with, beside local accounts;\nthe client secret is read from "+EnvOIDCClientSecret+" (env KILN_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", getenv("KILN_OIDC_CLIENT_ID"),
		"Kiln's client ID at the OpenID Connect provider (env KILN_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCName, "oidc-name", orDefault(getenv, "KILN_OIDC_NAME", "single sign-on"),
		"the provider's name on the login page's button (env KILN_OIDC_NAME)")
	fs.BoolVar(&c.OIDCSignup, "oidc-signup", c.envBool(getenv, "KILN_OIDC_SIGNUP", false),
		"give a person the provider signs in, and Kiln does not know, a new customer on the free plan\n(env KILN_OIDC_SIGNUP)")
	fs.IntVar(&c.MCPIPRequestsPerMinute, "mcp-ip-requests-per-minute",
		c.envInt(getenv, "KILN_MCP_IP_REQUESTS_PER_MINUTE", DefaultMCPIPRequestsPerMinute),
		"most MCP requests a minute from one client address (an IPv6 /64), before authentication\n(env KILN_MCP_IP_REQUESTS_PER_MINUTE)")
	fs.StringVar(&c.Cache, "cache-dir", getenv("KILN_CACHE_DIR"),
		"directory of the compiled-module and Go build caches; empty: <data-dir>/cache (env KILN_CACHE_DIR)")
	fs.BoolVar(&c.DevLibrary, "dev-library", c.envBool(getenv, "KILN_DEV_LIBRARY", true),
		"in development, build the curated library of the source checkout (toolkits/library), sign it with the\ndevelopment key and register it in the background at start; never in production (env KILN_DEV_LIBRARY)")
	c.registerHTTP(fs, getenv)
	c.Observe.register(fs, getenv)
	c.registerLifecycle(fs, getenv)
}

// AllowPrivatePrefixes parses EgressAllowPrivate.
func (c *Config) AllowPrivatePrefixes() ([]netip.Prefix, error) {
	return parsePrefixes(c.EgressAllowPrivate, "--egress-allow-private/KILN_EGRESS_ALLOW_PRIVATE")
}

// TrustedProxyPrefixes parses TrustedProxies.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes(c.TrustedProxies, "--trusted-proxies/KILN_TRUSTED_PROXIES")
}

func parsePrefixes(list, setting string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(list, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %q is not an address range such as 10.1.0.0/16", setting, part)
		}
		out = append(out, p)
	}
	return out, nil
}

// Validate checks values that flags cannot check by type. It does not look
// for secrets: Resolve does, after Validate.
func (c *Config) Validate() error {
	errs := append([]error(nil), c.envErrs...)
	if c.Env != Development && c.Env != Production {
		errs = append(errs, fmt.Errorf("config: KILN_ENV/--env is %q; it must be %q or %q", c.Env, Development, Production))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("config: the data directory (--data-dir, KILN_DATA_DIR) must not be empty"))
	}
	if c.serve && c.BuildWorkers < 1 {
		errs = append(errs, fmt.Errorf("config: --build-workers/KILN_BUILD_WORKERS is %d; it must be at least 1", c.BuildWorkers))
	}
	if c.serve && c.MCPIPRequestsPerMinute < 1 {
		errs = append(errs, fmt.Errorf("config: --mcp-ip-requests-per-minute/KILN_MCP_IP_REQUESTS_PER_MINUTE is %d; it must be at least 1", c.MCPIPRequestsPerMinute))
	}
	if c.serve {
		errs = append(errs, c.validateHTTP()...)
		errs = append(errs, c.Observe.validate()...)
		errs = append(errs, c.validateLifecycle()...)
	}
	if c.PublicURL != "" {
		if _, err := ParsePublicURL(c.PublicURL, false); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if c.OIDCIssuer != "" {
		if u, err := url.Parse(c.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("config: --oidc-issuer/KILN_OIDC_ISSUER is %q; it must be the provider's https URL", c.OIDCIssuer))
		} else if c.Env == Production && u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("config: --oidc-issuer/KILN_OIDC_ISSUER must be https in production, not %q", c.OIDCIssuer))
		}
		if c.OIDCClientID == "" {
			errs = append(errs, errors.New("config: --oidc-issuer needs --oidc-client-id/KILN_OIDC_CLIENT_ID"))
		}
	}
	return errors.Join(errs...)
}

// CacheDir is where compiled modules are cached on disk.
func (c *Config) CacheDir() string { return filepath.Join(c.cacheRoot(), "wasm") }

// GoCacheDir is the GOCACHE used for tool builds.
func (c *Config) GoCacheDir() string { return filepath.Join(c.cacheRoot(), "go-build") }

func (c *Config) cacheRoot() string {
	if c.Cache != "" {
		return c.Cache
	}
	return filepath.Join(c.DataDir, "cache")
}

// ParsePublicURL checks a public URL: an absolute http or https URL (https
// only when requireHTTPS), with a host, without credentials, query or
// fragment, since it is the base other URLs are built on. The result has no
// trailing slash.
func ParsePublicURL(s string, requireHTTPS bool) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("config: KILN_PUBLIC_URL/--public-url %q is not a URL", s)
	}
	switch {
	case requireHTTPS && u.Scheme != "https":
		return "", fmt.Errorf("config: KILN_PUBLIC_URL/--public-url must be an https URL in production, got %q", s)
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("config: KILN_PUBLIC_URL/--public-url must be an http or https URL, got %q", s)
	case u.Host == "":
		return "", fmt.Errorf("config: KILN_PUBLIC_URL/--public-url %q has no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("config: KILN_PUBLIC_URL/--public-url %q must not have credentials, a query or a fragment", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}
