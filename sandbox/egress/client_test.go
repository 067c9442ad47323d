package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// localSetup is the end-to-end harness: test servers on 127.0.0.1, reached
// by name through a test resolver, with AllowPrivate admitting 127.0.0.0/8.
func localSetup(t *testing.T) (api, other *testServer, res *mapResolver) {
	api = newTestServer(t, nil, false)
	other = newTestServer(t, nil, false)
	res = newResolver("api.test.example", "127.0.0.1", "other.test.example", "127.0.0.1")
	return
}

func apiURL(s *testServer, path string) string {
	return fmt.Sprintf("http://api.test.example:%d%s", s.port(), path)
}

func otherURL(s *testServer, path string) string {
	return fmt.Sprintf("http://other.test.example:%d%s", s.port(), path)
}

func TestAllowedEndToEnd(t *testing.T) {
	api, _, res := localSetup(t)
	c := mustClient(t, Policy{
		Allow:        mustRules(t, fmt.Sprintf("http://api.test.example:%d", api.port())),
		AllowPrivate: loopback8,
	}, nil, WithResolver(res))

	resp, err := c.Do(context.Background(), Request{
		Method: "post",
		URL:    apiURL(api, "/v1/items?x=1&y=%20z"),
		Header: http.Header{"x-custom": {"a", "b"}, "Content-Type": {"application/json"}, "Accept-Encoding": {"br"}},
		Body:   []byte(`{"n":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || resp.Redirects != 0 {
		t.Fatalf("status %d redirects %d", resp.Status, resp.Redirects)
	}
	var got recorded
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatalf("%v: %s", err, resp.Body)
	}
	if got.Method != "POST" || got.Path != "/v1/items" || got.RawQuery != "x=1&y=%20z" || got.Body != `{"n":1}` {
		t.Fatalf("server saw %+v", got)
	}
	if got.Host != hostPort("api.test.example", api.port()) {
		t.Errorf("Host %q", got.Host)
	}
	if v := got.Header["X-Custom"]; len(v) != 2 || v[0] != "a" || v[1] != "b" {
		t.Errorf("X-Custom %q", v)
	}
	if ae := got.Header.Get("Accept-Encoding"); ae != "gzip" {
		t.Errorf("Accept-Encoding %q: the host must set it", ae)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("response headers %v", resp.Header)
	}
	if resp.URL != apiURL(api, "/v1/items?x=1&y=%20z") {
		t.Errorf("URL %q", resp.URL)
	}

	// Non-2xx statuses are responses, not errors.
	notFound := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, false)
	c = mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", notFound.port())), AllowPrivate: loopback8}, nil, WithResolver(res))
	resp, err = c.Do(context.Background(), Request{URL: apiURL(notFound, "/missing")})
	if err != nil || resp.Status != 404 {
		t.Fatalf("got %v, %v", resp, err)
	}
}

func TestNotAllowed(t *testing.T) {
	api, other, res := localSetup(t)
	c := mustClient(t, Policy{
		Allow:        mustRules(t, fmt.Sprintf("http://api.test.example:%d", api.port()), "https://*.test.example"),
		AllowPrivate: loopback8,
		MaxRequests:  100,
	}, nil, WithResolver(res))
	for _, u := range []string{
		otherURL(other, "/"), // other host
		fmt.Sprintf("http://api.test.example:%d/", other.port()), // other port
		fmt.Sprintf("https://api.test.example:%d/", api.port()),  // other scheme
		"http://api.test.example/",                               // default port
		"http://test.example/",                                   // apex is not a subdomain
	} {
		_, err := c.Do(context.Background(), Request{URL: u})
		de := wantDenied(t, err, ReasonNotAllowed)
		if !strings.Contains(de.Error(), "is not an allowed destination") {
			t.Errorf("message %q", de)
		}
	}
	if api.accepts()+other.accepts() != 0 {
		t.Fatal("a refused request connected")
	}
	if res.count("other.test.example") != 0 {
		t.Error("a disallowed host was resolved")
	}
}

func TestRequestValidation(t *testing.T) {
	api, _, res := localSetup(t)
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", api.port())), AllowPrivate: loopback8, MaxRequests: 100},
		nil, WithResolver(res))
	u := apiURL(api, "/")
	bad := []Request{
		{Method: "TRACE", URL: u},
		{Method: "CONNECT", URL: u},
		{Method: "GET\r\nX: y", URL: u},
		{URL: u, Header: http.Header{"Host": {"internal.admin"}}},
		{URL: u, Header: http.Header{"Transfer-Encoding": {"chunked"}}},
		{URL: u, Header: http.Header{"content-length": {"5"}}},
		{URL: u, Header: http.Header{"Connection": {"upgrade"}, "Upgrade": {"h2c"}}},
		{URL: u, Header: http.Header{"X-A": {"v\r\nInjected: 1"}}},
		{URL: u, Header: http.Header{"Bad Name": {"v"}}},
		{URL: u, Header: http.Header{"X-A": {"{{secret.}}"}}},
		{URL: u, Body: []byte("{{secret.A-B}}")},
		{URL: apiURL(api, "/?k={{secret.A}}")},
	}
	for i, r := range bad {
		_, err := c.Do(context.Background(), r)
		var de *DeniedError
		if !errors.As(err, &de) {
			t.Errorf("%d: want *DeniedError, got %v", i, err)
			continue
		}
		t.Logf("%d: %v", i, err)
	}
	if n := api.accepts(); n != 0 {
		t.Fatalf("refused requests connected %d times", n)
	}
}

func TestTLS(t *testing.T) {
	var mu sync.Mutex
	var sni []string
	srv := newUnstarted(t, nil)
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		sni = append(sni, h.ServerName)
		mu.Unlock()
		return nil, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	// httptest's certificate is valid for example.com, 127.0.0.1 and ::1.
	res := newResolver("example.com", "127.0.0.1", "api.test.example", "127.0.0.1")
	p := srv.port()
	policy := Policy{
		Allow:        mustRules(t, fmt.Sprintf("https://example.com:%d", p), fmt.Sprintf("https://api.test.example:%d", p)),
		AllowPrivate: loopback8,
	}
	url := fmt.Sprintf("https://example.com:%d/tls", p)

	c := mustClient(t, policy, nil, WithResolver(res), WithRootCAs(pool))
	resp, err := c.Do(context.Background(), Request{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("status %d", resp.Status)
	}
	mu.Lock()
	if len(sni) != 1 || sni[0] != "example.com" {
		t.Errorf("SNI %q, want example.com", sni)
	}
	mu.Unlock()

	// Unknown CA: the system pool does not trust httptest's certificate.
	c = mustClient(t, policy, nil, WithResolver(res))
	_, err = c.Do(context.Background(), Request{URL: url})
	var re *RequestError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unknown CA: got %v", err)
	}

	// Right CA, wrong name: the certificate is checked against the host
	// name, not the address that was dialed.
	c = mustClient(t, policy, nil, WithResolver(res), WithRootCAs(pool))
	_, err = c.Do(context.Background(), Request{URL: fmt.Sprintf("https://api.test.example:%d/", p)})
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "api.test.example") {
		t.Fatalf("wrong name: got %v", err)
	}

	// An http rule does not admit https and vice versa.
	c = mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://example.com:%d", p)), AllowPrivate: loopback8}, nil, WithResolver(res), WithRootCAs(pool))
	_, err = c.Do(context.Background(), Request{URL: url})
	wantDenied(t, err, ReasonNotAllowed)
}

func TestRequestCap(t *testing.T) {
	api, _, res := localSetup(t)
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", api.port())), AllowPrivate: loopback8, MaxRequests: 2},
		nil, WithResolver(res))
	for i := 0; i < 2; i++ {
		if _, err := c.Do(context.Background(), Request{URL: apiURL(api, "/")}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Do(context.Background(), Request{URL: apiURL(api, "/")})
	wantLimit(t, err, LimitRequests)
	if n := len(api.requests()); n != 2 {
		t.Fatalf("server saw %d requests", n)
	}
	if c.Requests() != 3 {
		t.Errorf("Requests() = %d", c.Requests())
	}

	// Redirect hops count too.
	chain := newTestServer(t, redirectChain, false)
	c = mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", chain.port())), AllowPrivate: loopback8, MaxRequests: 3},
		nil, WithResolver(res))
	_, err = c.Do(context.Background(), Request{URL: apiURL(chain, "/chain/4")})
	wantLimit(t, err, LimitRequests)
	if n := len(chain.requests()); n != 3 {
		t.Fatalf("server saw %d requests", n)
	}
}

// redirectChain redirects /chain/N to /chain/N-1 and answers /chain/0.
func redirectChain(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/chain/"))
	if n <= 0 {
		w.Write([]byte("end"))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusFound)
}

func TestRedirects(t *testing.T) {
	chain := newTestServer(t, redirectChain, false)
	res := newResolver("api.test.example", "127.0.0.1")
	policy := Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", chain.port())), AllowPrivate: loopback8, MaxRedirects: 2, MaxRequests: 100}
	c := mustClient(t, policy, nil, WithResolver(res))

	resp, err := c.Do(context.Background(), Request{URL: apiURL(chain, "/chain/2")})
	if err != nil || string(resp.Body) != "end" || resp.Redirects != 2 || resp.URL != apiURL(chain, "/chain/0") {
		t.Fatalf("within cap: %+v %v", resp, err)
	}
	before := len(chain.requests())
	_, err = c.Do(context.Background(), Request{URL: apiURL(chain, "/chain/3")})
	wantLimit(t, err, LimitRedirects)
	if !strings.Contains(err.Error(), "more than 2 redirects") {
		t.Errorf("message %q", err)
	}
	if n := len(chain.requests()) - before; n != 3 {
		t.Fatalf("server saw %d requests, want 3 (the original and 2 hops)", n)
	}

	// NoRedirect returns the 3xx.
	resp, err = c.Do(context.Background(), Request{URL: apiURL(chain, "/chain/3"), NoRedirect: true})
	if err != nil || resp.Status != 302 || resp.Header.Get("Location") != "/chain/2" {
		t.Fatalf("NoRedirect: %+v %v", resp, err)
	}
	// So does a policy that never follows.
	policy.MaxRedirects = -1
	c = mustClient(t, policy, nil, WithResolver(res))
	resp, err = c.Do(context.Background(), Request{URL: apiURL(chain, "/chain/3")})
	if err != nil || resp.Status != 302 {
		t.Fatalf("MaxRedirects -1: %+v %v", resp, err)
	}
}

func TestRedirectMethods(t *testing.T) {
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/")); err == nil {
			http.Redirect(w, r, "/done", code)
			return
		}
		echo(w, r)
	}, false)
	res := newResolver("api.test.example", "127.0.0.1")
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", srv.port())), AllowPrivate: loopback8, MaxRequests: 100}, nil, WithResolver(res))
	for _, tc := range []struct {
		code       int
		method     string
		wantMethod string
		wantBody   string
	}{
		{301, "POST", "GET", ""}, {302, "POST", "GET", ""}, {303, "PUT", "GET", ""},
		{303, "HEAD", "HEAD", ""}, {307, "POST", "POST", "payload"}, {308, "PUT", "PUT", "payload"},
	} {
		resp, err := c.Do(context.Background(), Request{Method: tc.method, URL: apiURL(srv, fmt.Sprintf("/r/%d", tc.code)), Body: []byte("payload"), Header: http.Header{"Content-Type": {"text/plain"}}})
		if err != nil {
			t.Fatalf("%d %s: %v", tc.code, tc.method, err)
		}
		last := srv.last(t)
		if last.Method != tc.wantMethod || last.Body != tc.wantBody || resp.Redirects != 1 {
			t.Errorf("%d %s: server saw %s %q", tc.code, tc.method, last.Method, last.Body)
		}
		if tc.wantBody == "" && last.Header.Get("Content-Type") != "" {
			t.Errorf("%d: Content-Type kept without a body", tc.code)
		}
	}
}

func TestResponseCap(t *testing.T) {
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") != "" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		if r.URL.Query().Get("bighead") != "" {
			w.Header().Set("X-Big", strings.Repeat("h", 4096))
		}
		w.Write([]byte(strings.Repeat("x", n)))
	}, false)
	res := newResolver("api.test.example", "127.0.0.1")
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", srv.port())), AllowPrivate: loopback8,
		MaxResponseBytes: 100, MaxResponseHeaderBytes: 1024, MaxRequests: 100}, nil, WithResolver(res))
	for _, chunked := range []string{"", "1"} {
		resp, err := c.Do(context.Background(), Request{URL: apiURL(srv, "/?n=100&chunked="+chunked)})
		if err != nil || len(resp.Body) != 100 {
			t.Fatalf("at the cap (chunked=%q): %v", chunked, err)
		}
		_, err = c.Do(context.Background(), Request{URL: apiURL(srv, "/?n=101&chunked="+chunked)})
		wantLimit(t, err, LimitResponseBytes)
		_, err = c.Do(context.Background(), Request{URL: apiURL(srv, "/?n=10000000&chunked="+chunked)})
		wantLimit(t, err, LimitResponseBytes)
	}
	// HEAD announces a large body without sending one.
	if resp, err := c.Do(context.Background(), Request{Method: "HEAD", URL: apiURL(srv, "/?n=1000")}); err != nil || resp.Status != 200 {
		t.Fatalf("HEAD: %v", err)
	}
	_, err := c.Do(context.Background(), Request{URL: apiURL(srv, "/?n=1&bighead=1")})
	var re *RequestError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "1024") {
		t.Fatalf("header cap: %v", err)
	}
}

func TestRequestBodyCap(t *testing.T) {
	api, _, res := localSetup(t)
	secrets := []Secret{{Name: "BIG", Value: strings.Repeat("s", 100), Hosts: mustRules(t, fmt.Sprintf("http://api.test.example:%d", api.port()))}}
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", api.port())), AllowPrivate: loopback8, MaxRequestBytes: 50},
		secrets, WithResolver(res))
	_, err := c.Do(context.Background(), Request{Method: "POST", URL: apiURL(api, "/"), Body: make([]byte, 51)})
	wantLimit(t, err, LimitRequestBytes)
	// Within the cap as a template, over it once substituted.
	_, err = c.Do(context.Background(), Request{Method: "POST", URL: apiURL(api, "/"), Body: []byte("{{secret.BIG}}")})
	le := wantLimit(t, err, LimitRequestBytes)
	if strings.Contains(le.Error(), "sss") {
		t.Fatal("error contains the secret")
	}
	if _, err := c.Do(context.Background(), Request{Method: "POST", URL: apiURL(api, "/"), Body: make([]byte, 50)}); err != nil {
		t.Fatal(err)
	}
	if n := api.accepts(); n != 1 {
		t.Fatalf("accepts %d, want 1", n)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Write([]byte("start"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}, false)
	res := newResolver("api.test.example", "127.0.0.1")
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", srv.port())), AllowPrivate: loopback8, Timeout: 200 * time.Millisecond},
		nil, WithResolver(res))
	for _, path := range []string{"/slow-headers", "/slow-body"} {
		start := time.Now()
		_, err := c.Do(context.Background(), Request{URL: apiURL(srv, path)})
		wantLimit(t, err, LimitTimeout)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: errors.Is DeadlineExceeded is false", path)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %v", path, d)
		}
	}

	// The call's own context ends everything, and is reported as such.
	c = mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", srv.port())), AllowPrivate: loopback8, Timeout: time.Minute},
		nil, WithResolver(res))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Do(ctx, Request{URL: apiURL(srv, "/slow-headers")})
	var re *RequestError
	if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call deadline: %T %v", err, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestNewClientValidation(t *testing.T) {
	h := mustRules(t, "api.example.com")
	bad := []struct {
		p Policy
		s []Secret
	}{
		{Policy{MaxRequests: -1}, nil},
		{Policy{MaxResponseBytes: -1}, nil},
		{Policy{Timeout: -1}, nil},
		{Policy{Allow: []Rule{{Scheme: "ftp", Host: "x"}}}, nil},
		{Policy{Allow: []Rule{{Scheme: "https", Host: "API.example.com", Port: 443}}}, nil},
		{Policy{Allow: []Rule{{Scheme: "https", Host: "127.1", Port: 443}}}, nil},
		{Policy{Allow: []Rule{{Scheme: "https", Port: 443}}}, nil},
		{Policy{}, []Secret{{Name: "1X", Value: "v", Hosts: h}}},
		{Policy{}, []Secret{{Name: "A-B", Value: "v", Hosts: h}}},
		{Policy{}, []Secret{{Name: "A", Value: "", Hosts: h}}},
		{Policy{}, []Secret{{Name: "A", Value: "v"}}},
		{Policy{}, []Secret{{Name: "A", Value: "v", Hosts: h}, {Name: "A", Value: "w", Hosts: h}}},
	}
	for i, tc := range bad {
		if _, err := NewClient(tc.p, tc.s); err == nil {
			t.Errorf("%d: accepted", i)
		} else if strings.Contains(err.Error(), "v\"") {
			t.Errorf("%d: error shows a value: %v", i, err)
		}
	}
	c, err := NewClient(Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.p.MaxRequests != DefaultMaxRequests || c.p.MaxResponseBytes != DefaultMaxResponseBytes || c.p.Timeout != DefaultTimeout ||
		c.p.MaxRedirects != DefaultMaxRedirects || c.p.MaxRequestBytes != DefaultMaxRequestBytes {
		t.Errorf("defaults not applied: %+v", c.p)
	}
	// Empty Allow denies everything.
	_, err = c.Do(context.Background(), Request{URL: "https://api.example.com/"})
	wantDenied(t, err, ReasonNotAllowed)
	// A nil context is not a panic.
	var nilCtx context.Context
	_, err = c.Do(nilCtx, Request{URL: "https://api.example.com/"})
	wantDenied(t, err, ReasonNotAllowed)
}

func TestConcurrentRequestCount(t *testing.T) {
	api, _, res := localSetup(t)
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://api.test.example:%d", api.port())), AllowPrivate: loopback8, MaxRequests: 10},
		nil, WithResolver(res))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Do(context.Background(), Request{URL: apiURL(api, "/")})
			mu.Lock()
			defer mu.Unlock()
			var le *LimitError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &le) && le.Limit == LimitRequests:
				limited++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 10 || limited != 10 || len(api.requests()) != 10 {
		t.Fatalf("ok %d, limited %d, server saw %d", ok, limited, len(api.requests()))
	}
}
