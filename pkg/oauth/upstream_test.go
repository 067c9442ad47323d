package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	opstorage "github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/websession"
)

// upstreamEnv is Kiln (local accounts off the path) with zitadel's example
// OpenID Provider as its upstream, both on real HTTP on 127.0.0.1.
type upstreamEnv struct {
	store    *store.Store
	kiln     string // Kiln's public URL
	provider string // the provider's issuer
}

const (
	upstreamClientID     = "kiln"
	upstreamClientSecret = "kiln-upstream-secret"
	upstreamPassword     = "verysecure" // the example provider's users' password
	upstreamEmail        = "test-user@zitadel.ch"
)

func newUpstreamEnv(t *testing.T, s *store.Store, signup bool) *upstreamEnv {
	t.Helper()
	kilnSrv := httptest.NewUnstartedServer(nil)
	kiln := "http://" + kilnSrv.Listener.Addr().String()
	provSrv := httptest.NewUnstartedServer(nil)
	provider := "http://" + provSrv.Listener.Addr().String()

	// The example provider, with Kiln registered as a confidential web client.
	clients := map[string]*opstorage.Client{
		upstreamClientID: opstorage.WebClient(upstreamClientID, upstreamClientSecret, kiln+"/oauth/upstream/callback"),
	}
	provSrv.Config.Handler = exampleop.SetupServer(provider, opstorage.NewStorageWithClients(opstorage.NewUserStore(provider), clients), nil, false)
	provSrv.Start()
	t.Cleanup(provSrv.Close)

	as, err := oauth.New(context.Background(), oauth.Config{Store: s, Secrets: newBox(t), PublicURL: kiln,
		Upstream: &oauth.UpstreamConfig{Issuer: provider, ClientID: upstreamClientID, ClientSecret: upstreamClientSecret,
			Name: "Example SSO", Signup: signup}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/oauth/", as.Handler())
	mux.Handle("/.well-known/", as.Handler())
	mux.HandleFunc("/wizard", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the wizard") })
	kilnSrv.Config.Handler = mux
	kilnSrv.Start()
	t.Cleanup(kilnSrv.Close)
	return &upstreamEnv{store: s, kiln: kiln, provider: provider}
}

// signIn follows a sign-in from a Kiln URL through the provider's login
// form, as a browser with jar would, and returns the last response (its
// body read into the string).
func (e *upstreamEnv) signIn(t *testing.T, jar http.CookieJar, start, username string) (*http.Response, string) {
	t.Helper()
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), e.provider+"/login/username") {
		t.Fatalf("expected the provider's login form, got %s at %s:\n%s", resp.Status, resp.Request.URL, page)
	}
	resp, err = browser.PostForm(e.provider+"/login/username", url.Values{
		"id": {field(page, "id")}, "username": {username}, "password": {upstreamPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(resp)
}

func (e *upstreamEnv) username() string {
	u, _ := url.Parse(e.provider)
	return "test-user@" + u.Hostname()
}

func newJar(t *testing.T) http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}

func sessionCookie(jar http.CookieJar, kiln string) string {
	u, _ := url.Parse(kiln)
	for _, c := range jar.Cookies(u) {
		if c.Name == websession.CookieName {
			return c.Value
		}
	}
	return ""
}

// TestUpstreamSignIn: sign-in through an upstream OpenID Provider (the
// code flow with PKCE, by pkg/client/rp) maps the person to a Kiln user by
// a linked identity, by a verified email an operator gave a user, or, with
// signup, a new customer; otherwise it is refused with a sentence.
func TestUpstreamSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newUpstreamEnv(t, s, false)

		t.Run("unknown person refused", func(t *testing.T) {
			jar := newJar(t)
			resp, page := e.signIn(t, jar, e.kiln+"/oauth/upstream/start?next=/wizard", e.username())
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "no Kiln account for "+upstreamEmail) {
				t.Fatalf("%s %s", resp.Status, page)
			}
			if sessionCookie(jar, e.kiln) != "" {
				t.Error("a refused sign-in started a session")
			}
		})

		cust := store.Customer{Name: "Acme", Tier: tier.Free}
		if err := s.CreateCustomer(ctx, &cust); err != nil {
			t.Fatal(err)
		}
		user := store.User{CustomerID: cust.ID, Email: strings.ToUpper(upstreamEmail), Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &user); err != nil {
			t.Fatal(err)
		}

		t.Run("verified email links the operator's user", func(t *testing.T) {
			jar := newJar(t)
			resp, err := (&http.Client{Jar: jar}).Get(e.kiln + "/oauth/login?next=/wizard")
			if err != nil {
				t.Fatal(err)
			}
			page := readAll(resp)
			if !strings.Contains(page, `<a href="/oauth/upstream/start?next=%2Fwizard">Sign in with Example SSO</a>`) {
				t.Fatalf("the sign-in page offers no upstream sign-in:\n%s", page)
			}
			resp, page = e.signIn(t, jar, e.kiln+"/oauth/upstream/start?next=%2Fwizard", e.username())
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/wizard" || page != "the wizard" {
				t.Fatalf("%s at %s: %s", resp.Status, resp.Request.URL, page)
			}
			value := sessionCookie(jar, e.kiln)
			if value == "" {
				t.Fatal("no session cookie")
			}
			_, got, err := s.SessionByHash(ctx, store.HashOAuthSecret(value))
			if err != nil || got.ID != user.ID {
				t.Fatalf("session user %q (%v), want %q", got.ID, err, user.ID)
			}
			ids, err := s.ListIdentities(ctx, user.ID)
			if err != nil || len(ids) != 1 || ids[0].Provider != e.provider || ids[0].Subject != "id1" {
				t.Fatalf("identities: %+v %v", ids, err)
			}
		})

		t.Run("a linked identity signs in whatever the email", func(t *testing.T) {
			user.Email = "renamed@example.com"
			if err := s.UpdateUser(ctx, &user); err != nil {
				t.Fatal(err)
			}
			jar := newJar(t)
			resp, _ := e.signIn(t, jar, e.kiln+"/oauth/upstream/start?next=/wizard", e.username())
			if resp.Request.URL.Path != "/wizard" {
				t.Fatalf("%s at %s", resp.Status, resp.Request.URL)
			}
			_, got, err := s.SessionByHash(ctx, store.HashOAuthSecret(sessionCookie(jar, e.kiln)))
			if err != nil || got.ID != user.ID {
				t.Fatalf("session user %q (%v), want %q", got.ID, err, user.ID)
			}
		})

		t.Run("an address linked elsewhere at the provider is not taken over", func(t *testing.T) {
			v := store.User{CustomerID: cust.ID, Email: "test-user2@zitadel.ch", Role: store.RoleMember}
			if err := s.CreateUser(ctx, &v); err != nil {
				t.Fatal(err)
			}
			if err := s.LinkIdentity(ctx, &store.Identity{Provider: e.provider, Subject: "an-earlier-account", UserID: v.ID}); err != nil {
				t.Fatal(err)
			}
			jar := newJar(t)
			resp, page := e.signIn(t, jar, e.kiln+"/oauth/upstream/start?next=/wizard", "test-user2")
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "linked to another Example SSO account") {
				t.Fatalf("%s %s", resp.Status, page)
			}
			if sessionCookie(jar, e.kiln) != "" {
				t.Error("the refused sign-in started a session")
			}
		})

		t.Run("authorization request returns to consent", func(t *testing.T) {
			srv := store.Server{CustomerID: cust.ID, Name: "tools"}
			if err := s.CreateServer(ctx, &srv, func(int) error { return nil }); err != nil {
				t.Fatal(err)
			}
			client := register(t, e.kiln)
			verifier := "a-verifier-that-is-long-enough-for-pkce-0123456789"
			sum := sha256.Sum256([]byte(verifier))
			q := url.Values{
				"response_type": {"code"}, "client_id": {client}, "redirect_uri": {"http://127.0.0.1:9/cb"},
				"scope": {"mcp"}, "state": {"s1"}, "code_challenge_method": {"S256"},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
				"resource":       {e.kiln + "/mcp/" + srv.ID},
			}
			jar := newJar(t)
			browser := &http.Client{Jar: jar}
			resp, err := browser.Get(e.kiln + "/oauth/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			page := readAll(resp)
			if !strings.Contains(page, "Sign in with Example SSO") {
				t.Fatalf("the login page offers no upstream sign-in:\n%s", page)
			}
			start := e.kiln + "/oauth/upstream/start?id=" + url.QueryEscape(field(page, "id"))
			noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			// With prompt=login the provider is asked for a fresh sign-in too.
			q.Set("prompt", "login")
			resp, err = browser.Get(e.kiln + "/oauth/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			fresh := field(readAll(resp), "id")
			resp, err = noFollow.Get(e.kiln + "/oauth/upstream/start?id=" + url.QueryEscape(fresh))
			if err != nil {
				t.Fatal(err)
			}
			readAll(resp)
			if loc, err := resp.Location(); err != nil || loc.Query().Get("prompt") != "login" || loc.Query().Get("max_age") != "0" {
				t.Fatalf("upstream request for prompt=login: %s %v", resp.Status, loc)
			}

			resp, page = e.signIn(t, jar, start, e.username())
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Signed in as") || field(page, "csrf") == "" {
				t.Fatalf("expected the consent page of a signed-in user, got %s:\n%s", resp.Status, page)
			}
			resp, err = noFollow.PostForm(e.kiln+"/oauth/login", url.Values{
				"id": {field(page, "id")}, "csrf": {field(page, "csrf")}, "action": {"allow"},
			})
			if err != nil {
				t.Fatal(err)
			}
			readAll(resp)
			loc, err := resp.Location()
			if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s1" || loc.Query().Get("iss") != e.kiln {
				t.Fatalf("consent: %s %v %v", resp.Status, loc, err)
			}
		})

		t.Run("callback without the browser's state is refused", func(t *testing.T) {
			resp, err := http.Get(e.kiln + "/oauth/upstream/callback?code=x&state=y")
			if err != nil {
				t.Fatal(err)
			}
			if page := readAll(resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Start again") {
				t.Fatalf("%s %s", resp.Status, page)
			}
		})

		t.Run("next must be a local path", func(t *testing.T) {
			for _, next := range []string{"//evil.example", "https://evil.example/", "/\\evil.example"} {
				resp, err := http.Get(e.kiln + "/oauth/upstream/start?next=" + url.QueryEscape(next))
				if err != nil {
					t.Fatal(err)
				}
				readAll(resp)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("next=%s: %s", next, resp.Status)
				}
			}
		})
	})
}

// TestUpstreamSignup: with signup on, a person Kiln does not know gets a
// new customer on the free plan, as its owner.
func TestUpstreamSignup(t *testing.T) {
	s := storetest.SQLite(t)
	e := newUpstreamEnv(t, s, true)
	jar := newJar(t)
	resp, _ := e.signIn(t, jar, e.kiln+"/oauth/upstream/start?next=/wizard", e.username())
	if resp.Request.URL.Path != "/wizard" {
		t.Fatalf("%s at %s", resp.Status, resp.Request.URL)
	}
	ctx := context.Background()
	_, u, err := s.SessionByHash(ctx, store.HashOAuthSecret(sessionCookie(jar, e.kiln)))
	if err != nil {
		t.Fatal(err)
	}
	cust, err := s.Customer(ctx, u.CustomerID)
	if err != nil || cust.Tier != tier.Free || u.Role != store.RoleOwner || u.Email != upstreamEmail {
		t.Fatalf("customer %+v user %+v: %v", cust, u, err)
	}
	// The second sign-in finds the same user.
	jar = newJar(t)
	e.signIn(t, jar, e.kiln+"/oauth/upstream/start?next=/wizard", e.username())
	_, again, err := s.SessionByHash(ctx, store.HashOAuthSecret(sessionCookie(jar, e.kiln)))
	if err != nil || again.ID != u.ID {
		t.Fatalf("second sign-in: user %q (%v), want %q", again.ID, err, u.ID)
	}
	customers, err := s.ListCustomers(ctx)
	if err != nil || len(customers) != 1 {
		t.Fatalf("customers: %d %v", len(customers), err)
	}
}

// TestUpstreamUnreachable: a provider that cannot be reached is a clear
// 502, not a failed start of Kiln.
func TestUpstreamUnreachable(t *testing.T) {
	s := storetest.SQLite(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	kilnSrv := httptest.NewUnstartedServer(nil)
	kiln := "http://" + kilnSrv.Listener.Addr().String()
	as, err := oauth.New(context.Background(), oauth.Config{Store: s, Secrets: newBox(t), PublicURL: kiln,
		Upstream: &oauth.UpstreamConfig{Issuer: dead.URL, ClientID: "kiln", Name: "Down SSO"}})
	if err != nil {
		t.Fatal(err)
	}
	kilnSrv.Config.Handler = as.Handler()
	kilnSrv.Start()
	defer kilnSrv.Close()
	resp, err := http.Get(kiln + "/oauth/upstream/start?next=/")
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(resp); resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "Down SSO cannot be reached") {
		t.Fatalf("%s %s", resp.Status, page)
	}
}
