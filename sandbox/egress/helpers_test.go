package egress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// countingListener counts accepted connections: the proof that a refused
// request made no connection.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

type recorded struct {
	Method, Path, RawQuery, Host string
	Header                       http.Header
	Body                         string
}

// testServer is an httptest server on 127.0.0.1 that counts accepts and
// records requests. A nil handler echoes the request as JSON.
type testServer struct {
	*httptest.Server
	ln   *countingListener
	mu   sync.Mutex
	reqs []recorded
}

func newTestServer(t *testing.T, h http.HandlerFunc, useTLS bool) *testServer {
	t.Helper()
	s := newUnstarted(t, h)
	if useTLS {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// newUnstarted is newTestServer before Start, for custom TLS settings.
func newUnstarted(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	s := &testServer{}
	if h == nil {
		h = echo
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Clone(), string(body)})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Listener.Close()
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS failures
	s.ln = &countingListener{Listener: l}
	s.Listener = s.ln
	return s
}

func (s *testServer) port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

func (s *testServer) accepts() int64 { return s.ln.n.Load() }

func (s *testServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func (s *testServer) last(t *testing.T) recorded {
	t.Helper()
	r := s.requests()
	if len(r) == 0 {
		t.Fatal("server saw no request")
	}
	return r[len(r)-1]
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header, string(body)})
}

// mapResolver is a test resolver; answers may change per call (rebinding).
type mapResolver struct {
	mu    sync.Mutex
	m     map[string][]netip.Addr
	seq   map[string][][]netip.Addr // successive answers; the last repeats
	calls map[string]int
}

func newResolver(pairs ...string) *mapResolver {
	r := &mapResolver{m: map[string][]netip.Addr{}, seq: map[string][][]netip.Addr{}, calls: map[string]int{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		r.add(pairs[i], pairs[i+1])
	}
	return r
}

func (r *mapResolver) add(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range addrs {
		r.m[host] = append(r.m[host], netip.MustParseAddr(a))
	}
}

func (r *mapResolver) sequence(host string, answers ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range answers {
		r.seq[host] = append(r.seq[host], []netip.Addr{netip.MustParseAddr(a)})
	}
}

func (r *mapResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.calls[host]
	r.calls[host]++
	if s := r.seq[host]; len(s) > 0 {
		return append([]netip.Addr(nil), s[min(n, len(s)-1)]...), nil
	}
	if a, ok := r.m[host]; ok {
		return append([]netip.Addr(nil), a...), nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *mapResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

// fakeNet stands in for the internet: connections to a fake public
// address are routed to a local test server, and every dial is recorded.
type fakeNet struct {
	mu     sync.Mutex
	routes map[string]string
	dials  []string
}

func newFakeNet() *fakeNet { return &fakeNet{routes: map[string]string{}} }

func (f *fakeNet) route(from string, to *testServer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[from] = to.ln.Addr().String()
}

func (f *fakeNet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	f.mu.Lock()
	f.dials = append(f.dials, address)
	to, ok := f.routes[address]
	f.mu.Unlock()
	if !ok {
		// Pass through: if a check ever failed, the connection would really
		// happen and the counting listener would see it.
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func (f *fakeNet) dialed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.dials...)
}

func mustRules(t testing.TB, ss ...string) []Rule {
	t.Helper()
	r, err := ParseRules(ss)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustClient(t testing.TB, p Policy, secrets []Secret, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(p, secrets, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var loopback8 = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func wantDenied(t *testing.T, err error, reason Reason) *DeniedError {
	t.Helper()
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("want *DeniedError (%s), got %T: %v", reason, err, err)
	}
	if de.Reason != reason {
		t.Fatalf("want reason %s, got %s: %v", reason, de.Reason, err)
	}
	return de
}

func wantLimit(t *testing.T, err error, limit Limit) *LimitError {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("want *LimitError (%s), got %T: %v", limit, err, err)
	}
	if le.Limit != limit {
		t.Fatalf("want limit %s, got %s: %v", limit, le.Limit, err)
	}
	return le
}

func hostPort(host string, port int) string { return host + ":" + strconv.Itoa(port) }
