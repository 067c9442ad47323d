package egress

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Rule is one allowed destination: a scheme, a host pattern and a port.
//
// Rules are written as
//
//	host                    https, port 443
//	*.suffix                any subdomain of suffix (any depth), not suffix itself
//	*                       any host (the address checks still apply)
//	scheme://host           http (port 80) or https (port 443)
//	scheme://host:port      an explicit port; "*" allows any port
//	[2001:db8::1]           an IPv6 literal, bracketed; IPv4 as a dotted quad
//
// The default is https only: plain http must be asked for, because a tool
// sending a secret in clear text is a leak waiting to happen. Rules name
// hosts, never paths, so a rule with a path, query, fragment or user info is
// an error rather than a silently broader grant.
type Rule struct {
	// Scheme is "http" or "https".
	Scheme string
	// Host is the normalized host name or IP literal (IPv6 without
	// brackets); for a wildcard rule, the suffix after "*."; empty for "*".
	Host string
	// Wildcard marks a "*.suffix" rule.
	Wildcard bool
	// AnyHost marks the "*" rule.
	AnyHost bool
	// Port is the allowed port; 0 means any port.
	Port int
}

// ParseRule parses one rule (see Rule for the syntax).
func ParseRule(s string) (Rule, error) {
	fail := func(format string, args ...any) (Rule, error) {
		return Rule{}, fmt.Errorf("egress: rule %q: %s", clip(s), fmt.Sprintf(format, args...))
	}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return fail("empty")
	}
	r := Rule{Scheme: "https"}
	if i := strings.Index(rest, "://"); i >= 0 {
		r.Scheme = strings.ToLower(rest[:i])
		if r.Scheme != "http" && r.Scheme != "https" {
			return fail("scheme must be http or https")
		}
		rest = rest[i+3:]
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@") {
		return fail("a rule names a host (with optional scheme and port), not a path, query or user")
	}
	hostPart, portPart := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return fail("unclosed '['")
		}
		hostPart, portPart = rest[:end+1], rest[end+1:]
		if portPart != "" {
			if portPart[0] != ':' {
				return fail("unexpected %q after IPv6 literal", portPart)
			}
			portPart = portPart[1:]
			if portPart == "" {
				return fail("empty port")
			}
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		if strings.Count(rest, ":") > 1 {
			return fail("IPv6 literals must be bracketed")
		}
		hostPart, portPart = rest[:i], rest[i+1:]
		if portPart == "" {
			return fail("empty port")
		}
	}
	switch {
	case portPart == "":
		r.Port = defaultPort(r.Scheme)
	case portPart == "*":
		r.Port = 0
	default:
		p, err := parsePort(portPart)
		if err != nil {
			return fail("%v", err)
		}
		r.Port = p
	}
	switch {
	case hostPart == "*":
		r.AnyHost = true
	case strings.HasPrefix(hostPart, "*."):
		h, ip, err := normalizeHost(hostPart[2:], false)
		if err != nil {
			return fail("%v", err)
		}
		if ip.IsValid() {
			return fail("a wildcard needs a domain suffix, not an address")
		}
		r.Wildcard, r.Host = true, h
	case strings.Contains(hostPart, "*"):
		return fail("'*' is only allowed as the whole host or as a leading \"*.\" label")
	default:
		bracketed := strings.HasPrefix(hostPart, "[")
		if bracketed {
			hostPart = strings.TrimSuffix(hostPart[1:], "]")
		}
		h, _, err := normalizeHost(hostPart, bracketed)
		if err != nil {
			return fail("%v", err)
		}
		r.Host = h
	}
	return r, nil
}

// ParseRules parses a list of rules, reporting the first bad one.
func ParseRules(ss []string) ([]Rule, error) {
	rules := make([]Rule, 0, len(ss))
	for _, s := range ss {
		r, err := ParseRule(s)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// String formats the rule in the syntax ParseRule reads.
func (r Rule) String() string {
	var host string
	switch {
	case r.AnyHost:
		host = "*"
	case r.Wildcard:
		host = "*." + r.Host
	case strings.Contains(r.Host, ":"):
		host = "[" + r.Host + "]"
	default:
		host = r.Host
	}
	port := "*"
	if r.Port != 0 {
		port = strconv.Itoa(r.Port)
	}
	return r.Scheme + "://" + host + ":" + port
}

// Matches reports whether the rule allows a destination. host must be
// normalized (as the client does for every URL): lower-case ASCII without a
// trailing dot, IPv6 without brackets.
func (r Rule) Matches(scheme, host string, port int) bool {
	if scheme != r.Scheme || (r.Port != 0 && port != r.Port) || host == "" {
		return false
	}
	switch {
	case r.AnyHost:
		return true
	case r.Wildcard:
		return strings.HasSuffix(host, "."+r.Host)
	default:
		return host == r.Host
	}
}

func defaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

func parsePort(s string) (int, error) {
	if len(s) == 0 || len(s) > 5 {
		return 0, fmt.Errorf("invalid port %q", clip(s))
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid port %q", clip(s))
		}
	}
	p, _ := strconv.Atoi(s)
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %d out of range 1-65535", p)
	}
	return p, nil
}

// hostError is a host that cannot be normalized; numeric says it was refused
// as a non-canonical number.
type hostError struct {
	numeric bool
	msg     string
}

func (e *hostError) Error() string { return e.msg }

// normalizeHost returns the canonical form of a URL host (brackets removed
// by the caller, who says whether they were there) and, for a literal, its
// address. Canonical means: IPv4 as a dotted quad, IPv6 as netip prints it,
// names as lower-case punycode without a trailing dot.
//
// Numeric hosts in any other notation are refused rather than interpreted:
// inet_aton, browsers and some proxies read "2130706433", "0x7f.1",
// "0177.0.0.1" and "127.1" as 127.0.0.1, and any disagreement between how we
// read a host and how something downstream reads it is an SSRF bypass. The
// rule follows WHATWG URL: a host whose last label is all digits or 0x-hex is
// a number, so it must be a canonical dotted quad.
func normalizeHost(h string, bracketed bool) (string, netip.Addr, error) {
	if bracketed {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return "", netip.Addr{}, &hostError{msg: fmt.Sprintf("invalid IPv6 literal [%s]", clip(h))}
		}
		if a.Zone() != "" {
			// A zone picks an interface; it has no place in a remote URL and
			// only serves to reach link-local neighbours.
			return "", netip.Addr{}, &hostError{msg: "IPv6 zones are not allowed"}
		}
		return a.String(), a, nil
	}
	if h == "" {
		return "", netip.Addr{}, &hostError{msg: "empty host"}
	}
	if len(h) > 1024 {
		return "", netip.Addr{}, &hostError{msg: "host name too long"}
	}
	// IDNA first: it maps full-width digits and dots ("１２７。０。０。１")
	// to ASCII, so the numeric check below sees what a resolver would.
	if !utf8.ValidString(h) {
		return "", netip.Addr{}, &hostError{msg: fmt.Sprintf("invalid host name %q: not UTF-8", clip(h))}
	}
	a, err := idna.Lookup.ToASCII(h)
	if err == nil {
		// The result must be a fixed point, or the name we check is not the
		// name that a later parse (or the resolver) would see.
		var again string
		if again, err = idna.Lookup.ToASCII(a); err == nil && again != a {
			err = fmt.Errorf("not stable under IDNA")
		}
	}
	if err != nil {
		return "", netip.Addr{}, &hostError{msg: fmt.Sprintf("invalid host name %q: %v", clip(h), err)}
	}
	a = strings.ToLower(a)
	a = strings.TrimSuffix(a, ".")
	if a == "" {
		return "", netip.Addr{}, &hostError{msg: "empty host"}
	}
	labels := strings.Split(a, ".")
	if last := labels[len(labels)-1]; isNumericLabel(last) {
		ip, err := netip.ParseAddr(a)
		if err != nil || !ip.Is4() || ip.String() != a {
			return "", netip.Addr{}, &hostError{numeric: true, msg: fmt.Sprintf("numeric host %q is not a canonical dotted-quad IPv4 address", clip(h))}
		}
		return a, ip, nil
	}
	if len(a) > 253 {
		return "", netip.Addr{}, &hostError{msg: "host name longer than 253 bytes"}
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", netip.Addr{}, &hostError{msg: fmt.Sprintf("invalid host name %q: empty or over-long label", clip(h))}
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", netip.Addr{}, &hostError{msg: fmt.Sprintf("invalid host name %q", clip(h))}
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", netip.Addr{}, &hostError{msg: fmt.Sprintf("invalid host name %q: label starts or ends with '-'", clip(h))}
		}
	}
	return a, netip.Addr{}, nil
}

// isNumericLabel is WHATWG's "ends in a number" test for one label.
func isNumericLabel(l string) bool {
	if l == "" {
		return false
	}
	if strings.HasPrefix(l, "0x") {
		for i := 2; i < len(l); i++ {
			c := l[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}

// target is one parsed, normalized destination.
type target struct {
	url    *url.URL // as sent: host normalized, no fragment, no user info
	scheme string
	host   string     // normalized, IPv6 without brackets
	ip     netip.Addr // valid when host is a literal
	port   int
}

// origin identifies scheme, host and port, for the cross-origin rules of
// redirects.
func (t *target) origin() string {
	return t.scheme + "://" + net2host(t.host) + ":" + strconv.Itoa(t.port)
}

func net2host(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// wholeValueTemplates requires every secret template in a query to be a
// parameter's whole value (name={{secret.X}}): next to other text, say
// "%2{{secret.X}}", the server would decode part of the value into
// something redaction cannot recognize when it echoes it back.
func wholeValueTemplates(rawQuery string) error {
	for _, param := range strings.Split(rawQuery, "&") {
		if !strings.Contains(param, templateOpen) {
			continue
		}
		name, value, ok := strings.Cut(param, "=")
		refs, _ := templateRefs(value)
		if !ok || strings.Contains(name, templateOpen) || len(refs) != 1 || value != templateOpen+refs[0]+templateClose {
			return fmt.Errorf("a secret template must be a whole parameter value, as in key={{secret.NAME}}")
		}
	}
	return nil
}

// maxURLBytes bounds the URL a tool may send; servers reject far shorter.
const maxURLBytes = 16 << 10

// parseTarget parses and normalizes a request URL. Errors are *DeniedError
// with ReasonInvalidURL or ReasonNumericHost; shown is the URL to report.
func parseTarget(raw string, shown string) (*target, error) {
	deny := func(r Reason, format string, args ...any) (*target, error) {
		return nil, &DeniedError{Reason: r, URL: shown, Detail: fmt.Sprintf(format, args...)}
	}
	if len(raw) > maxURLBytes {
		return deny(ReasonInvalidURL, "URL longer than %d bytes", maxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return deny(ReasonInvalidURL, "cannot parse URL")
	}
	// Secret templates may stand in the query (API keys often go there),
	// never where they could choose the destination or be logged as a path.
	if strings.Count(raw, templateOpen) != strings.Count(u.RawQuery, templateOpen) {
		return deny(ReasonInvalidURL, "secret templates are substituted only in the query, header values and the body")
	}
	if _, err := templateRefs(u.RawQuery); err != nil {
		return deny(ReasonInvalidURL, "query: %v", err)
	}
	if err := wholeValueTemplates(u.RawQuery); err != nil {
		return deny(ReasonInvalidURL, "query: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return deny(ReasonInvalidURL, "scheme must be http or https")
	}
	if u.Opaque != "" || u.Host == "" {
		return deny(ReasonInvalidURL, "URL must be absolute with a host")
	}
	if u.User != nil {
		// "https://allowed.example@evil.example/" reads as one host to a
		// person and another to a parser; credentials in URLs also end up
		// in logs. Use an Authorization header instead.
		return deny(ReasonInvalidURL, "user info in URLs is not allowed")
	}
	bracketed := strings.HasPrefix(u.Host, "[")
	host, ip, err := normalizeHost(u.Hostname(), bracketed)
	if err != nil {
		r := ReasonInvalidURL
		if he, ok := err.(*hostError); ok && he.numeric {
			r = ReasonNumericHost
		}
		return deny(r, "%v", err)
	}
	port := defaultPort(u.Scheme)
	if ps := u.Port(); ps != "" {
		if port, err = parsePort(ps); err != nil {
			return deny(ReasonInvalidURL, "%v", err)
		}
	}
	out := *u
	out.Fragment, out.RawFragment = "", ""
	out.Host = net2host(host)
	if u.Port() != "" {
		out.Host += ":" + strconv.Itoa(port)
	}
	return &target{url: &out, scheme: u.Scheme, host: host, ip: ip, port: port}, nil
}
