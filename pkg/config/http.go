package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// HTTPLimits bound what slow or numerous clients can hold of the HTTP
// server: every connection is closed once it has been idle, slow to send
// its request or slow to take its answer for one of these durations, and
// no address may hold more than its share of connections.
type HTTPLimits struct {
	// ReadTimeout bounds reading one request, headers and body
	// (--read-timeout, KILN_READ_TIMEOUT). A body that trickles in is cut
	// off when it runs out. Uploads of large library modules over slow
	// links may need more.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write of an answer: the client must take
	// every piece within it (--write-timeout, KILN_WRITE_TIMEOUT). It does
	// not bound how long a handler works, so a tool call's event stream or
	// a build lasts as long as its own limits allow.
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request
	// (--idle-timeout, KILN_IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// MaxConns bounds open connections in all (--max-conns, KILN_MAX_CONNS);
	// MaxConnsPerAddr those from one client address, an IPv6 /64 counting
	// as one (--max-conns-per-addr, KILN_MAX_CONNS_PER_ADDR). Connections
	// beyond either are closed at once. Trusted proxies
	// (--trusted-proxies) are held to MaxConns only: many clients share
	// their address.
	MaxConns        int
	MaxConnsPerAddr int
}

// Defaults of HTTPLimits, which also stand in for zero values.
const (
	// DefaultReadTimeout lets a 64 MiB library upload through at about
	// 9 Mbit/s.
	DefaultReadTimeout = time.Minute
	// DefaultWriteTimeout: a client that takes nothing for 30 seconds is gone
	// or hostile.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout outlasts the 60 seconds for which reverse proxies
	// (nginx, cloud load balancers) keep idle upstream connections by
	// default, so that the proxy, not Kiln, closes them: a proxy that
	// reuses a connection Kiln is closing fails the request.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultMaxConns stays far below the file descriptor limits of
	// servers and containers, and its connections' buffers at tens of MiB.
	DefaultMaxConns = 4096
	// DefaultMaxConnsPerAddr is well above the six connections a browser
	// opens to a host, and leaves room for an office behind one address.
	DefaultMaxConnsPerAddr = 64
)

// OrDefaults fills zero values with the defaults.
func (h HTTPLimits) OrDefaults() HTTPLimits {
	pick := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	h.ReadTimeout = pick(h.ReadTimeout, DefaultReadTimeout)
	h.WriteTimeout = pick(h.WriteTimeout, DefaultWriteTimeout)
	h.IdleTimeout = pick(h.IdleTimeout, DefaultIdleTimeout)
	if h.MaxConns == 0 {
		h.MaxConns = DefaultMaxConns
	}
	if h.MaxConnsPerAddr == 0 {
		h.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	return h
}

// DefaultMemoryLimitPercent is the share of the memory available to the
// process (its cgroup's limit, else the machine's) that kiln serve gives
// the Go runtime as its soft limit when GOMEMLIMIT is not set. The rest is
// for memory the runtime does not manage: compiled Wasm code, which wazero
// maps outside the heap, and the kernel's page cache of the database.
const DefaultMemoryLimitPercent = 75

// registerHTTP adds the HTTP server's limits and the memory limit to fs.
func (c *Config) registerHTTP(fs *flag.FlagSet, getenv Getenv) {
	h := &c.HTTP
	fs.DurationVar(&h.ReadTimeout, "read-timeout", c.envDuration(getenv, "KILN_READ_TIMEOUT", DefaultReadTimeout),
		"longest time to read one request, headers and body (env KILN_READ_TIMEOUT)")
	fs.DurationVar(&h.WriteTimeout, "write-timeout", c.envDuration(getenv, "KILN_WRITE_TIMEOUT", DefaultWriteTimeout),
		"longest time a client may take to accept each write of an answer (env KILN_WRITE_TIMEOUT)")
	fs.DurationVar(&h.IdleTimeout, "idle-timeout", c.envDuration(getenv, "KILN_IDLE_TIMEOUT", DefaultIdleTimeout),
		"how long a kept-alive connection may wait for its next request (env KILN_IDLE_TIMEOUT)")
	fs.IntVar(&h.MaxConns, "max-conns", c.envInt(getenv, "KILN_MAX_CONNS", DefaultMaxConns),
		"most connections open at once; more are closed at once (env KILN_MAX_CONNS)")
	fs.IntVar(&h.MaxConnsPerAddr, "max-conns-per-addr", c.envInt(getenv, "KILN_MAX_CONNS_PER_ADDR", DefaultMaxConnsPerAddr),
		"most connections open at once from one client address (an IPv6 /64), trusted proxies excepted\n(env KILN_MAX_CONNS_PER_ADDR)")
	fs.IntVar(&c.MemoryLimitPercent, "memory-limit-percent", c.envInt(getenv, "KILN_MEMORY_LIMIT_PERCENT", DefaultMemoryLimitPercent),
		"without GOMEMLIMIT, the Go runtime's soft memory limit as a percentage of the memory available\n(the cgroup's limit, else the machine's); 0 sets none (env KILN_MEMORY_LIMIT_PERCENT)")
}

// validateHTTP checks the values of registerHTTP.
func (c *Config) validateHTTP() []error {
	var errs []error
	h := c.HTTP
	for _, d := range []struct {
		setting string
		v       time.Duration
	}{{"--read-timeout/KILN_READ_TIMEOUT", h.ReadTimeout}, {"--write-timeout/KILN_WRITE_TIMEOUT", h.WriteTimeout}, {"--idle-timeout/KILN_IDLE_TIMEOUT", h.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("config: %s is %v; it must be positive", d.setting, d.v))
		}
	}
	if h.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("config: --max-conns/KILN_MAX_CONNS is %d; it must be at least 1", h.MaxConns))
	}
	if h.MaxConnsPerAddr < 1 {
		errs = append(errs, fmt.Errorf("config: --max-conns-per-addr/KILN_MAX_CONNS_PER_ADDR is %d; it must be at least 1", h.MaxConnsPerAddr))
	}
	if c.MemoryLimitPercent < 0 || c.MemoryLimitPercent > 100 {
		errs = append(errs, fmt.Errorf("config: --memory-limit-percent/KILN_MEMORY_LIMIT_PERCENT is %d; it must be from 0 to 100", c.MemoryLimitPercent))
	}
	return errs
}

// envInt reads a whole number from the environment, def when unset; a
// value that is not one is reported by Validate.
func (c *Config) envInt(getenv Getenv, name string, def int) int {
	return envValue(c, getenv, name, def, strconv.Atoi, "a whole number")
}

// envBool reads true or false from the environment, def when unset; a
// value that is neither is reported by Validate.
func (c *Config) envBool(getenv Getenv, name string, def bool) bool {
	return envValue(c, getenv, name, def, strconv.ParseBool, "true or false")
}

// envDuration reads a duration such as 90s or 2m from the environment, def
// when unset; a value that is not one is reported by Validate.
func (c *Config) envDuration(getenv Getenv, name string, def time.Duration) time.Duration {
	return envValue(c, getenv, name, def, time.ParseDuration, "a duration such as 90s or 2m")
}

// envValue reads name from the environment with parse, def when unset; a
// value parse refuses is reported by Validate, saying it must be want.
func envValue[T any](c *Config, getenv Getenv, name string, def T, parse func(string) (T, error), want string) T {
	v := getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Errorf("config: %s is %q; it must be %s", name, v, want))
		return def
	}
	return x
}
