package egress

import (
	"fmt"
	"net/netip"
	"time"
)

// Policy is what one call's tool may do on the network. The zero value of
// every cap means its default (see the Default constants); Allow has no
// default: an empty list refuses every request.
type Policy struct {
	// Allow lists the destinations tools may reach (see Rule).
	Allow []Rule
	// AllowPrivate is the operator's exception to the address checks, for
	// deployments that do call services on a private network (and for tests,
	// which reach 127.0.0.1). Keep it as narrow as possible: every prefix
	// here is reachable by every tool whose Allow rules resolve into it.
	AllowPrivate []netip.Prefix
	// MaxRequests caps the requests of one call (the Client's lifetime),
	// counting every redirect hop and every refused attempt, so a tool
	// cannot turn the host into a scanner or a DNS amplifier.
	MaxRequests int
	// MaxRequestBytes caps the request body, before and after secret
	// substitution.
	MaxRequestBytes int64
	// MaxResponseBytes caps the (decoded) response body. A larger body is a
	// *LimitError; see the package documentation for why it is not
	// truncated.
	MaxResponseBytes int64
	// MaxResponseHeaderBytes caps the response status line and headers.
	MaxResponseHeaderBytes int64
	// MaxRedirects caps the redirects followed for one request. Negative
	// means redirects are never followed: the 3xx response is returned.
	MaxRedirects int
	// Timeout caps each request, from resolution to the last body byte, so
	// a slow server cannot hold a call for its whole budget. The context
	// given to Do bounds the call as a whole.
	Timeout time.Duration
}

// Defaults for zero fields of Policy.
const (
	DefaultMaxRequests            = 16
	DefaultMaxRequestBytes        = 1 << 20
	DefaultMaxResponseBytes       = 4 << 20
	DefaultMaxResponseHeaderBytes = 64 << 10
	DefaultMaxRedirects           = 5
	DefaultTimeout                = 10 * time.Second
)

// Request header limits; fixed, not policy, since no API needs more.
const (
	maxRequestHeaderBytes  = 64 << 10
	maxRequestHeaderFields = 100
)

// withDefaults validates p and fills zero caps with defaults.
func (p Policy) withDefaults() (Policy, error) {
	switch {
	case p.MaxRequests < 0:
		return p, fmt.Errorf("egress: MaxRequests %d must not be negative", p.MaxRequests)
	case p.MaxRequestBytes < 0:
		return p, fmt.Errorf("egress: MaxRequestBytes %d must not be negative", p.MaxRequestBytes)
	case p.MaxResponseBytes < 0:
		return p, fmt.Errorf("egress: MaxResponseBytes %d must not be negative", p.MaxResponseBytes)
	case p.MaxResponseHeaderBytes < 0:
		return p, fmt.Errorf("egress: MaxResponseHeaderBytes %d must not be negative", p.MaxResponseHeaderBytes)
	case p.Timeout < 0:
		return p, fmt.Errorf("egress: Timeout %v must not be negative", p.Timeout)
	}
	if p.MaxRequests == 0 {
		p.MaxRequests = DefaultMaxRequests
	}
	if p.MaxRequestBytes == 0 {
		p.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if p.MaxResponseBytes == 0 {
		p.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if p.MaxResponseHeaderBytes == 0 {
		p.MaxResponseHeaderBytes = DefaultMaxResponseHeaderBytes
	}
	if p.MaxRedirects == 0 {
		p.MaxRedirects = DefaultMaxRedirects
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	p.Allow = append([]Rule(nil), p.Allow...)
	for _, r := range p.Allow {
		if err := r.validate(); err != nil {
			return p, err
		}
	}
	prefixes := make([]netip.Prefix, 0, len(p.AllowPrivate))
	for _, pre := range p.AllowPrivate {
		n, err := normalizePrefix(pre)
		if err != nil {
			return p, fmt.Errorf("egress: AllowPrivate %s: %v", pre, err)
		}
		prefixes = append(prefixes, n)
	}
	p.AllowPrivate = prefixes
	return p, nil
}

// validate catches Rules built by hand rather than by ParseRule.
func (r Rule) validate() error {
	if r.Scheme != "http" && r.Scheme != "https" {
		return fmt.Errorf("egress: rule %s: scheme must be http or https", r)
	}
	if r.Port < 0 || r.Port > 65535 {
		return fmt.Errorf("egress: rule %s: port out of range", r)
	}
	parsed, err := ParseRule(r.String())
	if err != nil || parsed != r {
		return fmt.Errorf("egress: rule %s is not normalized; build rules with ParseRule", r)
	}
	return nil
}
