package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/http/httpguts"
)

// Resolver resolves host names. *net.Resolver implements it; tests inject
// their own. network is "ip".
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection. The client only ever calls it with an
// "ip:port" that passed the address checks, never with a host name.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Option configures a Client.
type Option func(*Client)

// WithResolver replaces the system resolver (net.DefaultResolver).
func WithResolver(r Resolver) Option { return func(c *Client) { c.resolver = r } }

// WithDialer replaces the TCP dialer. The default dialer re-checks the
// address it connects to at connect time (net.Dialer.Control) as a second
// line of defence; a custom dialer is trusted to connect where it is told.
func WithDialer(d DialFunc) Option { return func(c *Client) { c.dial = d } }

// WithRootCAs replaces the system certificate pool used to verify servers.
func WithRootCAs(pool *x509.CertPool) Option { return func(c *Client) { c.rootCAs = pool } }

// Request is what a tool asks the host to send. Header values and Body may
// contain secret templates ({{secret.NAME}}).
type Request struct {
	// Method defaults to GET. Only GET, HEAD, POST, PUT, PATCH, DELETE and
	// OPTIONS are allowed: CONNECT would open a tunnel and TRACE echoes
	// the request (with substituted secrets) back.
	Method string
	URL    string
	// Header holds request headers. Host, framing and hop-by-hop headers
	// (Content-Length, Transfer-Encoding, Connection, Upgrade, ...) are
	// refused: a Host header different from the URL would let a tool reach
	// another virtual host behind an allowed address, and framing headers
	// enable request smuggling. Accept-Encoding is dropped; the host asks
	// for gzip and decodes it, so that it can redact the body.
	Header http.Header
	Body   []byte
	// NoRedirect returns a 3xx response instead of following it.
	NoRedirect bool
}

// Response is what the host returns to the tool, with every secret value
// redacted from Header, Body and URL.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// URL is the final URL, after redirects.
	URL string
	// Redirects is the number of redirects followed.
	Redirects int
}

// Client sends one call's requests. Create one per call: MaxRequests counts
// over its lifetime. It is safe for concurrent use.
type Client struct {
	p        Policy
	secrets  map[string]*Secret
	redactor *strings.Replacer
	resolver Resolver
	dial     DialFunc
	rootCAs  *x509.CertPool
	used     atomic.Int64
}

// NewClient validates the policy and secrets and returns a client. Zero
// caps in p take their defaults.
func NewClient(p Policy, secrets []Secret, opts ...Option) (*Client, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{p: p, secrets: make(map[string]*Secret, len(secrets)), resolver: net.DefaultResolver}
	for i := range secrets {
		s := secrets[i]
		switch {
		case !validSecretName(s.Name):
			return nil, fmt.Errorf("egress: secret name %q: want letters, digits and '_', not starting with a digit, at most %d bytes", clip(s.Name), maxSecretName)
		case c.secrets[s.Name] != nil:
			return nil, fmt.Errorf("egress: secret %s given twice", s.Name)
		case s.Value == "":
			// Redacting "" would be meaningless and substituting it almost
			// certainly a configuration mistake.
			return nil, fmt.Errorf("egress: secret %s has an empty value", s.Name)
		case len(s.Hosts) == 0:
			return nil, fmt.Errorf("egress: secret %s is bound to no host; it could never be sent", s.Name)
		}
		s.Hosts = append([]Rule(nil), s.Hosts...)
		for _, r := range s.Hosts {
			if err := r.validate(); err != nil {
				return nil, fmt.Errorf("egress: secret %s: %v", s.Name, err)
			}
		}
		c.secrets[s.Name] = &s
	}
	c.redactor = newRedactor(secrets)
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	if c.dial == nil {
		d := &net.Dialer{Control: c.controlAddr}
		c.dial = d.DialContext
	}
	return c, nil
}

// Requests returns how many requests (including redirect hops and refused
// attempts) the client has counted.
func (c *Client) Requests() int { return int(c.used.Load()) }

// redact removes every secret value from s.
func (c *Client) redact(s string) string {
	if c.redactor == nil {
		return s
	}
	return c.redactor.Replace(s)
}

// controlAddr runs just before the kernel connects: the last chance to stop
// a connection to an address that somehow escaped the checks.
func (c *Client) controlAddr(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("egress: refusing to connect to unparsable address %q", address)
	}
	return CheckAddr(ap.Addr(), c.p.AllowPrivate)
}

var allowedMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// refusedHeaders are set by the host or would break framing; see Request.
var refusedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Upgrade": true, "Expect": true,
}

// crossOriginDropped are removed when a redirect changes origin, as net/http
// and browsers do: credentials for one origin are not sent to another.
var crossOriginDropped = []string{"Authorization", "Cookie", "Cookie2"}

// hop is one request of a redirect chain, still in template form.
type hop struct {
	method string
	t      *target
	header http.Header
	body   []byte
}

// Do sends req under the policy and returns the redacted response. See the
// package documentation for the checks and the redirect rules. The error is
// a *DeniedError, *LimitError or *RequestError.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, span := startSpan(ctx, req.Method)
	res, err := c.do(ctx, req)
	c.endSpan(span, req.URL, res, err)
	return res, err
}

func (c *Client) do(ctx context.Context, req Request) (*Response, error) {
	shown := c.redact(req.URL)
	if err := c.count(shown); err != nil {
		return nil, err
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	if !allowedMethods[method] {
		return nil, &DeniedError{Reason: ReasonInvalidRequest, URL: shown, Detail: fmt.Sprintf("method %q is not allowed", clip(req.Method))}
	}
	header, err := c.checkHeaders(req.Header, shown)
	if err != nil {
		return nil, err
	}
	if int64(len(req.Body)) > c.p.MaxRequestBytes {
		return nil, &LimitError{Limit: LimitRequestBytes, Max: c.p.MaxRequestBytes, URL: shown}
	}
	if _, err := templateRefs(string(req.Body)); err != nil {
		return nil, &DeniedError{Reason: ReasonInvalidRequest, URL: shown, Detail: "body: " + err.Error()}
	}
	t, err := parseTarget(req.URL, shown)
	if err != nil {
		return nil, err
	}
	h := &hop{method: method, t: t, header: header, body: req.Body}
	follow := !req.NoRedirect && c.p.MaxRedirects >= 0
	visited := map[string]bool{h.method + " " + t.url.String(): true}
	carried := false // whether any hop so far carried a secret
	for redirects := 0; ; redirects++ {
		res, loc, err := c.send(ctx, h, follow, &carried)
		if err != nil {
			return nil, err
		}
		if loc == "" {
			res.Redirects = redirects
			return res, nil
		}
		next, err := c.nextHop(h, res.Status, loc)
		if err != nil {
			return nil, err
		}
		if redirects >= c.p.MaxRedirects {
			return nil, &LimitError{Limit: LimitRedirects, Max: int64(c.p.MaxRedirects), URL: c.redact(next.t.url.String())}
		}
		key := next.method + " " + next.t.url.String()
		if visited[key] {
			return nil, &DeniedError{Reason: ReasonRedirectLoop, URL: c.redact(next.t.url.String()),
				Detail: fmt.Sprintf("redirect loop: redirect %d leads back to a URL already requested", redirects+1)}
		}
		visited[key] = true
		if err := c.count(c.redact(next.t.url.String())); err != nil {
			return nil, err
		}
		h = next
	}
}

// count charges one request against MaxRequests.
func (c *Client) count(shown string) error {
	if c.used.Add(1) > int64(c.p.MaxRequests) {
		return &LimitError{Limit: LimitRequests, Max: int64(c.p.MaxRequests), URL: shown}
	}
	return nil
}

// checkHeaders validates the tool's headers and returns a canonical copy.
func (c *Client) checkHeaders(in http.Header, shown string) (http.Header, error) {
	out := make(http.Header, len(in))
	size, fields := 0, 0
	deny := func(format string, args ...any) (http.Header, error) {
		return nil, &DeniedError{Reason: ReasonInvalidRequest, URL: shown, Detail: fmt.Sprintf(format, args...)}
	}
	for name, values := range in {
		if !httpguts.ValidHeaderFieldName(name) {
			return deny("invalid header name %q", clip(c.redact(name)))
		}
		canon := http.CanonicalHeaderKey(name)
		if refusedHeaders[canon] {
			return deny("header %s is set by the host and may not be sent by a tool", canon)
		}
		if canon == "Accept-Encoding" {
			continue
		}
		for _, v := range values {
			fields++
			size += len(name) + len(v) + 4
			if fields > maxRequestHeaderFields {
				return deny("more than %d header fields", maxRequestHeaderFields)
			}
			if size > maxRequestHeaderBytes {
				return nil, &LimitError{Limit: LimitRequestBytes, Max: maxRequestHeaderBytes, URL: shown}
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				return deny("header %s: value contains control characters", canon)
			}
			if _, err := templateRefs(v); err != nil {
				return deny("header %s: %v", canon, err)
			}
			out[canon] = append(out[canon], v)
		}
	}
	return out, nil
}

// nextHop builds the request for a redirect from the current hop's
// templates (never from substituted values).
func (c *Client) nextHop(h *hop, status int, loc string) (*hop, error) {
	locURL, err := h.t.url.Parse(loc)
	if err != nil {
		return nil, &DeniedError{Reason: ReasonInvalidURL, URL: c.redact(loc), Detail: "redirect Location cannot be parsed"}
	}
	raw := locURL.String()
	// Templates come only from the tool: a server must not be able to make
	// the host substitute a secret the tool never used.
	if strings.Contains(raw, templateOpen) {
		return nil, &DeniedError{Reason: ReasonInvalidURL, URL: c.redact(raw), Detail: "a redirect Location may not contain secret templates"}
	}
	t, err := parseTarget(raw, c.redact(raw))
	if err != nil {
		return nil, err
	}
	// A server may echo a secret into the Location (say, a query-string
	// key): the value may go on only to a destination it is bound to.
	for _, s := range c.secrets {
		if !s.boundTo(t) && containsSecret(raw, s.Value) {
			return nil, &DeniedError{Reason: ReasonSecretNotBound, URL: c.redact(raw), Secret: s.Name,
				Detail: fmt.Sprintf("the redirect would carry secret %s to %s", s.Name, t.origin())}
		}
	}
	next := &hop{method: h.method, t: t, header: h.header.Clone(), body: h.body}
	if status == 301 || status == 302 || status == 303 {
		// As net/http does: these turn everything but GET and HEAD into a
		// GET without a body.
		if h.method != http.MethodGet && h.method != http.MethodHead {
			next.method = http.MethodGet
		}
		next.body = nil
		next.header.Del("Content-Type")
		next.header.Del("Content-Encoding")
	}
	if t.origin() != h.t.origin() {
		for _, k := range crossOriginDropped {
			next.header.Del(k)
		}
	}
	return next, nil
}

// send performs one hop: allow check, secret binding, resolution and
// address check, substitution, the exchange, and redaction. It returns the
// redirect location instead of reading the body when follow is set and the
// response is a redirect.
func (c *Client) send(ctx context.Context, h *hop, follow bool, carried *bool) (*Response, string, error) {
	t := h.t
	shown := c.redact(t.url.String())
	deny := func(r Reason, secret, format string, args ...any) (*Response, string, error) {
		return nil, "", &DeniedError{Reason: r, URL: shown, Secret: secret, Detail: fmt.Sprintf(format, args...)}
	}

	// 1. The destination must be allowed.
	allowed := false
	for _, r := range c.p.Allow {
		allowed = allowed || r.Matches(t.scheme, t.host, t.port)
	}
	if !allowed {
		return deny(ReasonNotAllowed, "", "%s is not an allowed destination", t.origin())
	}

	// 2. Every referenced secret must exist and be bound to it.
	values := map[string]string{}
	var refs []string
	for _, vs := range h.header {
		for _, v := range vs {
			r, _ := templateRefs(v) // validated in checkHeaders
			refs = append(refs, r...)
		}
	}
	r, _ := templateRefs(string(h.body))
	refs = append(refs, r...)
	r, _ = templateRefs(t.url.RawQuery) // validated in parseTarget
	refs = append(refs, r...)
	for _, name := range refs {
		s := c.secrets[name]
		if s == nil {
			return deny(ReasonUnknownSecret, name, "no secret named %s", name)
		}
		if !s.boundTo(t) {
			return deny(ReasonSecretNotBound, name, "secret %s may not be sent to %s", name, t.origin())
		}
		values[name] = s.Value
	}

	// 3. Resolve once and check every address. The per-request timeout
	// starts here and covers resolution, connection, TLS and the body.
	reqCtx, cancel := context.WithTimeout(ctx, c.p.Timeout)
	defer cancel()
	var addrs []netip.Addr
	if t.ip.IsValid() {
		addrs = []netip.Addr{t.ip}
		if why := blocked(t.ip, c.p.AllowPrivate); why != "" {
			return deny(ReasonBlockedAddress, "", "address %s is %s", t.ip, why)
		}
	} else {
		answers, err := c.resolver.LookupNetIP(reqCtx, "ip", t.host)
		if err != nil {
			return nil, "", c.netErr(ctx, reqCtx, "resolve", shown, err)
		}
		if len(answers) == 0 {
			return nil, "", &RequestError{Op: "resolve", URL: shown, Err: errNoAddress, msg: errNoAddress.Error()}
		}
		for _, a := range answers {
			if why := blocked(a, c.p.AllowPrivate); why != "" {
				return deny(ReasonBlockedAddress, "", "%s resolves to %s, which is %s", t.host, a.Unmap(), why)
			}
			a = a.Unmap()
			dup := false
			for _, b := range addrs {
				dup = dup || a == b
			}
			if !dup && len(addrs) < maxDialAddrs {
				addrs = append(addrs, a)
			}
		}
	}

	// 4. Substitute, now that the destination is known to be good.
	header := make(http.Header, len(h.header))
	for k, vs := range h.header {
		for _, v := range vs {
			sv := substitute(v, values)
			if !httpguts.ValidHeaderFieldValue(sv) {
				names, _ := templateRefs(v)
				return deny(ReasonInvalidRequest, strings.Join(names, ","), "header %s: the value of secret %s cannot be sent in a header (control characters)", k, strings.Join(names, ", "))
			}
			header[k] = append(header[k], sv)
		}
	}
	body := []byte(substitute(string(h.body), values))
	if int64(len(body)) > c.p.MaxRequestBytes {
		return nil, "", &LimitError{Limit: LimitRequestBytes, Max: c.p.MaxRequestBytes, URL: shown}
	}
	if len(values) > 0 {
		*carried = true
	}

	// 5. Send over a transport that can only reach the checked addresses.
	u := *t.url
	u.RawQuery = substituteEscaped(u.RawQuery, values, url.QueryEscape)
	hreq := (&http.Request{
		Method: h.method, URL: &u, Host: u.Host, Header: header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}).WithContext(reqCtx)
	if len(body) > 0 {
		hreq.Body = io.NopCloser(bytes.NewReader(body))
		hreq.ContentLength = int64(len(body))
		hreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	tr := c.transport(t, addrs)
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(hreq)
	if err != nil {
		return nil, "", c.netErr(ctx, reqCtx, "request", shown, err)
	}
	defer resp.Body.Close()

	if follow && isRedirect(resp.StatusCode) {
		if loc := resp.Header.Get("Location"); loc != "" {
			return &Response{Status: resp.StatusCode}, loc, nil
		}
	}

	// 6. Read at most Max+1 bytes: one more than allowed tells "too large"
	// from "exactly the cap" without trusting Content-Length.
	max := c.p.MaxResponseBytes
	if h.method != http.MethodHead && resp.ContentLength > max {
		return nil, "", &LimitError{Limit: LimitResponseBytes, Max: max, URL: shown}
	}
	if *carried {
		if ce := strings.TrimSpace(strings.ToLower(resp.Header.Get("Content-Encoding"))); ce != "" && ce != "identity" {
			return deny(ReasonUninspectable, "", "response to a request carrying a secret is %s-encoded and cannot be checked for the secret", ce)
		}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, "", c.netErr(ctx, reqCtx, "read", shown, err)
	}
	if int64(len(data)) > max {
		return nil, "", &LimitError{Limit: LimitResponseBytes, Max: max, URL: shown}
	}

	// 7. Redact before anything reaches the tool.
	out := &Response{Status: resp.StatusCode, Header: make(http.Header, len(resp.Header)), URL: shown}
	for k, vs := range resp.Header {
		rk := c.redact(k)
		for _, v := range vs {
			out.Header[rk] = append(out.Header[rk], c.redact(v))
		}
	}
	if c.redactor != nil {
		out.Body = []byte(c.redactor.Replace(string(data)))
	} else {
		out.Body = data
	}
	return out, "", nil
}

// maxDialAddrs bounds the addresses tried for one name.
const maxDialAddrs = 8

var errNoAddress = errors.New("host name has no addresses")

func isRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// netErr classifies a failure: the whole call ending, the per-request
// timeout, or a network error (whose text is redacted, since a server can
// put anything, a secret included, into a malformed status line).
func (c *Client) netErr(ctx, reqCtx context.Context, op, shown string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return &RequestError{Op: op, URL: shown, Err: cerr, msg: "call ended: " + cerr.Error()}
	}
	if errors.Is(reqCtx.Err(), context.DeadlineExceeded) {
		return &LimitError{Limit: LimitTimeout, Max: int64(c.p.Timeout), URL: shown}
	}
	var de *DeniedError
	if errors.As(err, &de) {
		// The dialer's Control hook refused an address.
		return &DeniedError{Reason: de.Reason, URL: shown, Detail: de.Detail}
	}
	return &RequestError{Op: op, URL: shown, Err: err, msg: c.redact(err.Error())}
}

// transport returns a single-use transport whose only way out is the
// checked addresses of t: it never resolves (so a rebinding resolver is
// never asked twice), never uses a proxy (which would move the connection
// to an address we did not check), and verifies TLS for t's host name.
func (c *Client) transport(t *target, addrs []netip.Addr) *http.Transport {
	want := net.JoinHostPort(t.host, strconv.Itoa(t.port))
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		if address != want {
			return nil, fmt.Errorf("egress: transport asked for %s, not the checked %s", address, want)
		}
		var errs []error
		for _, a := range addrs {
			conn, err := c.dial(ctx, "tcp", netip.AddrPortFrom(a, uint16(t.port)).String())
			if err == nil {
				return conn, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		return nil, errors.Join(errs...)
	}
	return &http.Transport{
		Proxy:       nil,
		DialContext: dial,
		TLSClientConfig: &tls.Config{
			ServerName: t.host,
			RootCAs:    c.rootCAs,
			MinVersion: tls.VersionTLS12,
		},
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: c.p.MaxResponseHeaderBytes,
		// HTTP/1.1 only: one protocol to reason about, and a single-use
		// connection gains nothing from HTTP/2.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
}

// String describes the client's policy without secret values, for logs.
func (c *Client) String() string {
	rules := make([]string, len(c.p.Allow))
	for i, r := range c.p.Allow {
		rules[i] = r.String()
	}
	return fmt.Sprintf("egress.Client{allow: [%s], secrets: %d}", strings.Join(rules, " "), len(c.secrets))
}
