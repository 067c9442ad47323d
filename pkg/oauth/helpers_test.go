package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
)

// startAS serves an authorization server on 127.0.0.1, its issuer the
// server's own URL, which it returns.
func startAS(t *testing.T, s *store.Store) (*oauth.Server, string) {
	t.Helper()
	return startASWith(t, oauth.Config{Store: s}, nil)
}

// startASWith is startAS with more configuration (a new master key and the
// server's URL are filled in), and setup run on the server before it
// serves.
func startASWith(t *testing.T, cfg oauth.Config, setup func(*oauth.Server)) (*oauth.Server, string) {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	public := "http://" + hs.Listener.Addr().String()
	cfg.Secrets, cfg.PublicURL = newBox(t), public
	as, err := oauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(as)
	}
	hs.Config.Handler = as.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	return as, public
}

// customerWithServer creates a customer on the free plan and one server of
// theirs, the resource an authorization request names.
func customerWithServer(t *testing.T, s *store.Store) (store.Customer, store.Server) {
	t.Helper()
	ctx := context.Background()
	cust := store.Customer{Name: "c", Tier: "free"}
	if err := s.CreateCustomer(ctx, &cust); err != nil {
		t.Fatal(err)
	}
	srv := store.Server{CustomerID: cust.ID, Name: "s"}
	if err := s.CreateServer(ctx, &srv, func(int) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return cust, srv
}

func register(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/oauth/register", "application/json",
		strings.NewReader(`{"client_name":"t","redirect_uris":["http://127.0.0.1:9/cb"]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&reg) != nil {
		t.Fatalf("register: %s", resp.Status)
	}
	return reg.ClientID
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func field(page, name string) string {
	m := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// cookieJar keeps cookies regardless of the Secure flag and domain rules.
type cookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
}

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cookies = append(j.cookies, cs...)
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cookies
}
