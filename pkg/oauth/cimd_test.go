package oauth_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// fakeResolver resolves the names it lists, and no others.
type fakeResolver map[string]string

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// cimdEnv is an authorization server whose metadata document fetches reach
// docs, a TLS server on 127.0.0.1, as https://example.com (a public name at
// a public address) through the test-only transport hook. Every document
// under /c/ is a valid client's; docs counts the fetches of each path.
type cimdEnv struct {
	*staticEnv
	clock *storetest.Clock

	mu   sync.Mutex
	hits map[string]int
}

// cimdResolver maps example.com to a public address, and the other names
// to the address ranges a fetch must never reach.
var cimdResolver = fakeResolver{
	"example.com":            "93.184.215.14",
	"loopback.example.com":   "127.0.0.1",
	"private.example.com":    "10.0.0.1",
	"private172.example.com": "172.16.0.1",
	"metadata.example.com":   "169.254.169.254",
	"cgnat.example.com":      "100.64.0.1",
	"reserved.example.com":   "240.0.0.1",
	"mapped.example.com":     "::ffff:127.0.0.1",
	"loopback6.example.com":  "::1",
	"ula.example.com":        "fd00::1",
	"linklocal6.example.com": "fe80::1",
}

func newCIMDEnv(t *testing.T, s *store.Store, setup func(*oauth.Server)) *cimdEnv {
	t.Helper()
	clock := storetest.NewClock(time.Now())
	s = s.WithClock(clock.Now)
	e := &cimdEnv{clock: clock, hits: map[string]int{}}
	docs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.hits[r.URL.Path]++
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=120")
		fmt.Fprintf(w, `{"client_id":"https://%s%s","client_name":"CIMD Client","redirect_uris":["%s"],"token_endpoint_auth_method":"none"}`,
			r.Host, r.URL.Path, staticRedirect)
	}))
	t.Cleanup(docs.Close)
	pool := x509.NewCertPool()
	pool.AddCert(docs.Certificate())
	// The dialer goes to docs whatever address it is given: only the
	// address checks, which run on what the resolver returns, stand
	// between a fetch and 127.0.0.1.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, docs.Listener.Addr().String())
	}
	cust, srv := customerWithServer(t, s)
	if _, err := oauth.CreateLocalAccount(context.Background(), s, cust.ID, "dora", "", staticPassword, ""); err != nil {
		t.Fatal(err)
	}
	cfg := oauth.Config{Store: s, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	as, public := startASWith(t, cfg, func(as *oauth.Server) {
		as.UseCIMDTransportForTest(egress.WithResolver(cimdResolver), egress.WithDialer(dial), egress.WithRootCAs(pool))
		if setup != nil {
			setup(as)
		}
	})
	e.staticEnv = &staticEnv{t: t, store: s, as: as, url: public, resource: public + "/mcp/" + srv.ID}
	return e
}

// fetches is how often the document at path was fetched.
func (e *cimdEnv) fetches(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits[path]
}

// start sends a browser to /oauth/authorize for clientID, from the client
// address from (through the trusted proxy; "" for 127.0.0.1).
func (e *cimdEnv) start(clientID, from string) (*http.Response, string) {
	e.t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {staticRedirect}, "response_type": {"code"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		"resource": {e.resource}, "state": {"x"}}
	req, err := http.NewRequest(http.MethodGet, e.url+"/oauth/authorize?"+q.Encode(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, readAll(resp)
}

func TestClientIDMetadataDocument(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newCIMDEnv(t, s, nil)
		clientID := "https://example.com/c/app.json"
		resp, body := e.start(clientID, "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "CIMD Client") {
			t.Fatalf("CIMD client: %s %s", resp.Status, body)
		}
		row, err := s.OAuthClient(context.Background(), clientID)
		if err != nil || row.Registration != store.OAuthClientMetadata || row.ExpiresAt == nil {
			t.Fatalf("stored client %+v %v", row, err)
		}
	})
}

// TestCIMDNeverReachesPrivateAddresses: a metadata document is fetched
// under a policy of its own, with no exceptions for private ranges. There
// is no way to pass one: oauth.Config has no egress setting, so the
// operator's exceptions for tools (which `kiln serve` gives the MCP host)
// never apply here. Each name below resolves into a forbidden range, and
// the test's dialer would connect to the document server whatever the
// address: only the address check refuses.
func TestCIMDNeverReachesPrivateAddresses(t *testing.T) {
	e := newCIMDEnv(t, storetest.SQLite(t), func(as *oauth.Server) {
		as.SetCIMDLimitsForTest(ratelimit.PerMinute(1000), ratelimit.PerMinute(1000), 10)
	})
	for name := range cimdResolver {
		if name == "example.com" {
			continue
		}
		resp, body := e.start("https://"+name+"/c/app.json", "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_client") || !strings.Contains(body, name+" resolves to ") {
			t.Errorf("%s: %s %s", name, resp.Status, body)
		}
	}
	// Addresses written in the URL are refused as well.
	for _, host := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "100.64.0.1"} {
		if resp, body := e.start("https://"+host+"/c/app.json", ""); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_client") {
			t.Errorf("%s: %s %s", host, resp.Status, body)
		}
	}
	if n := e.fetches("/c/app.json"); n != 0 {
		t.Errorf("the document server was reached %d times", n)
	}
}

// TestCIMDRowsAndCacheAreBounded: a hundred document URLs leave at most
// the cache's size in memory, evicting the least recently used, and no
// permanent rows: each client row goes once it is past its expiry and no
// authorization request or token refers to it.
func TestCIMDRowsAndCacheAreBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const entries, urls = 10, 100
		e := newCIMDEnv(t, s, func(as *oauth.Server) {
			as.SetCIMDLimitsForTest(ratelimit.PerMinute(1000), ratelimit.PerMinute(1000), entries)
		})
		id := func(i int) string { return fmt.Sprintf("https://example.com/c/%d.json", i) }
		for i := range urls {
			if resp, body := e.start(id(i), ""); resp.StatusCode != http.StatusOK {
				t.Fatalf("client %d: %s %s", i, resp.Status, body)
			}
		}
		if n := e.as.CIMDCacheLenForTest(); n != entries {
			t.Errorf("%d documents cached, want %d", n, entries)
		}
		// The newest is still cached; the oldest was evicted and is fetched again.
		e.start(id(urls-1), "")
		e.start(id(0), "")
		if a, b := e.fetches("/c/0.json"), e.fetches(fmt.Sprintf("/c/%d.json", urls-1)); a != 2 || b != 1 {
			t.Errorf("fetches: oldest %d (want 2), newest %d (want 1)", a, b)
		}
		// Past the authorization requests' lifetime, nothing refers to the
		// rows: cleanup deletes them all.
		e.clock.Add(11 * time.Minute)
		e.as.Cleanup(ctx)
		left, err := s.ListOAuthClients(ctx, store.OAuthClientFilter{Registration: store.OAuthClientMetadata})
		if err != nil || len(left) != 0 {
			t.Fatalf("%d metadata clients left after cleanup (%v)", len(left), err)
		}
	})
}

// TestCIMDGrantOutlivesCache: a grant made through a metadata document
// keeps working after the document's cache entry and the row's own expiry
// pass (its tokens keep the row), without fetching the document; the next
// authorization fetches it again.
func TestCIMDGrantOutlivesCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newCIMDEnv(t, s, nil)
		clientID := "https://example.com/c/app.json"
		verifier := oauth2.GenerateVerifier()
		tok, err := e.config(clientID, "", oauth2.AuthStyleInParams).Exchange(ctx, e.code(clientID, verifier), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if n := e.fetches("/c/app.json"); n != 1 {
			t.Fatalf("%d fetches for one authorization", n)
		}
		// Past the cache (max-age 120) and the row's expiry.
		e.clock.Add(time.Hour)
		e.as.Cleanup(ctx)
		if _, err := s.OAuthClient(ctx, clientID); err != nil {
			t.Fatalf("the client's row went while its grant lives: %v", err)
		}
		stale := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
		fresh, err := e.config(clientID, "", oauth2.AuthStyleInParams).TokenSource(ctx, stale).Token()
		if err != nil || fresh.AccessToken == "" {
			t.Fatalf("refresh after the cache expired: %v", err)
		}
		if n := e.fetches("/c/app.json"); n != 1 {
			t.Errorf("the token endpoint fetched the document (%d fetches)", n)
		}
		// The expired cache entry is fetched again at the next authorization.
		if resp, body := e.start(clientID, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("authorize again: %s %s", resp.Status, body)
		}
		if n := e.fetches("/c/app.json"); n != 2 {
			t.Errorf("%d fetches after the cache expired, want 2", n)
		}
	})
}

// TestCIMDFetchesAreRateLimited: past the per-address limit, and past the
// node's limit from other addresses, a fetch is refused with 429 and
// temporarily_unavailable; cached documents are not counted.
func TestCIMDFetchesAreRateLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// Refills are 30 and 20 minutes apart: no test runs that long.
		e := newCIMDEnv(t, s, func(as *oauth.Server) {
			as.SetCIMDLimitsForTest(ratelimit.Limit{Events: 2, Per: time.Hour}, ratelimit.Limit{Events: 3, Per: time.Hour}, 100)
		})
		id := func(i int) string { return fmt.Sprintf("https://example.com/c/%d.json", i) }
		want := func(what string, i int, from string, status int, says string) {
			t.Helper()
			resp, body := e.start(id(i), from)
			if resp.StatusCode != status || !strings.Contains(body, says) {
				t.Fatalf("%s: %s %s", what, resp.Status, body)
			}
			if status == http.StatusTooManyRequests {
				var oe struct {
					Error string `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &oe); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if oe.Error != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
					t.Fatalf("%s: error %q, Retry-After %q", what, oe.Error, resp.Header.Get("Retry-After"))
				}
			}
		}
		want("first address, first document", 1, "198.51.100.1", http.StatusOK, "CIMD Client")
		want("first address, second document", 2, "198.51.100.1", http.StatusOK, "CIMD Client")
		want("first address, third document", 3, "198.51.100.1", http.StatusTooManyRequests, "from this address")
		want("first address, a cached document", 1, "198.51.100.1", http.StatusOK, "CIMD Client")
		want("second address, fourth document", 4, "198.51.100.2", http.StatusOK, "CIMD Client")
		want("second address, fifth document", 5, "198.51.100.2", http.StatusTooManyRequests, "on this server")
		for _, i := range []int{3, 5} {
			if n := e.fetches(fmt.Sprintf("/c/%d.json", i)); n != 0 {
				t.Errorf("a refused document was fetched %d times", n)
			}
		}
	})
}

// TestCIMDCacheLifetime: Cache-Control max-age is honoured between a minute
// and a day; no-store and no-cache mean the minute.
func TestCIMDCacheLifetime(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 5 * time.Minute},
		{"max-age=600", 10 * time.Minute},
		{"public, max-age=3600", time.Hour},
		{"max-age=0", time.Minute},
		{"max-age=30", time.Minute},
		{"max-age=31536000", 24 * time.Hour},
		{"max-age=99999999999999999999", 5 * time.Minute},
		{"max-age=-5", 5 * time.Minute},
		{"no-store", time.Minute},
		{"max-age=3600, no-cache", time.Minute},
		{"MAX-AGE=\"120\"", 2 * time.Minute},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Cache-Control", tc.header)
		}
		if got := oauth.CIMDLifetimeForTest(h); got != tc.want {
			t.Errorf("Cache-Control %q: %v, want %v", tc.header, got, tc.want)
		}
	}
}

// failingLimiter is a limiter that cannot answer.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, fmt.Errorf("the limiter is down")
}

// TestCIMDFetchRefusedWhenLimiterFails: a fetch nobody could count is
// refused (503), as every rate limit refuses when its limiter fails.
func TestCIMDFetchRefusedWhenLimiterFails(t *testing.T) {
	s := storetest.SQLite(t)
	_, srv := customerWithServer(t, s)
	_, public := startASWith(t, oauth.Config{Store: s, Limiter: failingLimiter{}}, nil)
	q := url.Values{"client_id": {"https://example.com/c/app.json"}, "redirect_uri": {staticRedirect}, "response_type": {"code"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		"resource": {public + "/mcp/" + srv.ID}}
	resp, err := http.Get(public + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily_unavailable") ||
		resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s %s", resp.Status, body)
	}
}
