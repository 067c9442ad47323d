package mcphost_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
)

// oauthEnv is a Kiln host with the authorization server, on real HTTP.
type oauthEnv struct {
	*env
	as    *oauth.Server
	clock *storetest.Clock
}

func newOAuthEnv(t *testing.T, s *store.Store) *oauthEnv {
	t.Helper()
	ctx := context.Background()
	catalog := tier.NewCatalog(s)
	if err := catalog.SetPlan(ctx, bigPlan); err != nil {
		t.Fatal(err)
	}
	box := newBox(t)
	srv := httptest.NewUnstartedServer(nil)
	public := "http://" + srv.Listener.Addr().String()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	clock := storetest.NewClock(time.Now())
	s = s.WithClock(clock.Now)
	as, err := oauth.New(ctx, oauth.Config{Store: s, Secrets: box, PublicURL: public, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	host, err := mcphost.New(mcphost.Config{
		Store: s, Engine: testEngine, Catalog: catalog, Secrets: box, PublicURL: public, Logger: logger,
		ResyncInterval: -1, OAuth: &mcphost.OAuthConfig{Issuer: as.Issuer(), Verifier: as},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp/", host.Handler())
	mux.Handle("/.well-known/oauth-protected-resource/", host.ProtectedResourceMetadata())
	mux.Handle("/.well-known/", as.Handler())
	mux.Handle("/oauth/", as.Handler())
	srv.Config.Handler = mux
	srv.Start()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- host.Run(runCtx) }()
	<-host.Loaded()
	t.Cleanup(func() {
		srv.Close()
		if err := host.Close(context.Background()); err != nil { // the queued execution log
			t.Errorf("Close: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &oauthEnv{env: &env{t: t, store: s, catalog: catalog, box: box, host: host, srv: srv}, as: as, clock: clock}
}

const testPassword = "correct horse battery staple"

// register registers a public client by RFC 7591.
func (e *oauthEnv) register(redirect string) string {
	e.t.Helper()
	body := `{"client_name":"Test Client","redirect_uris":["` + redirect + `"],"token_endpoint_auth_method":"none"}`
	resp, err := http.Post(e.srv.URL+"/oauth/register", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&reg) != nil {
		e.t.Fatalf("register: %s", resp.Status)
	}
	return reg.ClientID
}

func (e *oauthEnv) config(clientID, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, RedirectURL: redirect, Scopes: []string{"mcp"},
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/oauth/authorize", TokenURL: e.srv.URL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams},
	}
}

var (
	hiddenID   = regexp.MustCompile(`name="id" value="([^"]+)"`)
	hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// authorize runs the browser part: /authorize, the login page, the form.
// It returns the final redirect (to the client, or an error page's status).
func (e *oauthEnv) authorize(authURL, username string) *url.URL {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	return e.authorizeIn(jar, authURL, username, testPassword)
}

// authorizeIn is authorize in a browser with the cookies of jar; an empty
// username and password submit the consent of a signed-in browser.
func (e *oauthEnv) authorizeIn(jar http.CookieJar, authURL, username, password string) *url.URL {
	e.t.Helper()
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(r.URL.String(), e.srv.URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		loc, _ := resp.Location()
		return loc // an error sent back to the client
	}
	id, csrf := hiddenID.FindSubmatch(page), hiddenCSRF.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || id == nil || csrf == nil {
		e.t.Fatalf("login page: %s\n%s", resp.Status, page)
	}
	if !strings.Contains(string(page), "Test Client") || !strings.Contains(string(page), "127.0.0.1") {
		e.t.Errorf("the consent page does not show the client and its redirect host:\n%s", page)
	}
	resp, err = browser.PostForm(e.srv.URL+"/oauth/login", url.Values{
		"id": {string(id[1])}, "csrf": {string(csrf[1])}, "username": {username},
		"password": {password}, "action": {"allow"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: %s\n%s", resp.Status, page)
	}
	loc, err := resp.Location()
	if err != nil {
		e.t.Fatal(err)
	}
	return loc
}

func TestOAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newOAuthEnv(t, s)
		ctx := context.Background()
		a := e.addServer(bigPlan.Name, toolSpec{"echo", "test_embedded_resource", conformanceWATModule(t)})
		b := e.addServer(bigPlan.Name, toolSpec{"echo", "test_embedded_resource", conformanceWATModule(t)})
		if _, err := oauth.CreateLocalAccount(ctx, s, a.CustomerID, "alice", "alice@example.com", testPassword, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := oauth.CreateLocalAccount(ctx, s, b.CustomerID, "bob", "bob@example.com", testPassword, ""); err != nil {
			t.Fatal(err)
		}
		const redirect = "http://127.0.0.1:9/callback"
		clientID := e.register(redirect)
		conf := e.config(clientID, redirect)
		resA := e.host.ResourceURL(a.ID)

		// flow runs authorize + login for a resource and returns the code.
		flow := func(t *testing.T, user, resource string) (code, verifier string) {
			verifier = oauth2.GenerateVerifier()
			loc := e.authorize(conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier),
				oauth2.SetAuthURLParam("resource", resource)), user)
			q := loc.Query()
			if q.Get("state") != "st4te" || q.Get("iss") != e.as.Issuer() || q.Get("code") == "" {
				t.Fatalf("authorization response %s", loc)
			}
			return q.Get("code"), verifier
		}

		t.Run("metadata", func(t *testing.T) {
			var prm struct {
				Resource             string   `json:"resource"`
				AuthorizationServers []string `json:"authorization_servers"`
			}
			getJSON(t, e.srv.URL+"/.well-known/oauth-protected-resource/mcp/"+a.ID, &prm)
			if prm.Resource != resA || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != e.as.Issuer() {
				t.Errorf("protected resource metadata %+v", prm)
			}
			var as map[string]any
			getJSON(t, e.srv.URL+"/.well-known/oauth-authorization-server", &as)
			if as["issuer"] != e.as.Issuer() || as["registration_endpoint"] != e.as.Issuer()+"/oauth/register" ||
				as["authorization_response_iss_parameter_supported"] != true ||
				!equalJSON(as["code_challenge_methods_supported"], []any{"S256"}) {
				t.Errorf("AS metadata %v", as)
			}
			var oidcConf map[string]any
			getJSON(t, e.srv.URL+"/.well-known/openid-configuration", &oidcConf)
			if oidcConf["token_endpoint"] != e.as.Issuer()+"/oauth/token" {
				t.Errorf("OIDC discovery %v", oidcConf)
			}
			resp, err := http.Get(e.srv.URL + "/oauth/keys")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("JWKS: %v %v", resp, err)
			}
			resp.Body.Close()
		})

		t.Run("full flow and refresh rotation", func(t *testing.T) {
			code, verifier := flow(t, "alice", resA)
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			if _, err := e.as.VerifyAccessToken(ctx, tok.AccessToken, resA); err != nil {
				t.Fatalf("verifying the access token: %v", err)
			}
			session := connect(t, e.url(a.ID), tok.AccessToken)
			if res := call(t, session, "echo", map[string]any{}); res.IsError {
				t.Fatalf("call with an OAuth token: %s", text(res))
			}
			// Server A's token on server B.
			resp := rawPost(t, e.url(b.ID), tok.AccessToken, listBody(1))
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("A's token on B: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
			}
			// Rotation: the new refresh token works, the old one is reuse.
			old := tok.RefreshToken
			tok2, err := refresh(ctx, conf, old)
			if err != nil {
				t.Fatal(err)
			}
			if tok2.RefreshToken == old || tok2.RefreshToken == "" {
				t.Fatal("refresh token not rotated")
			}
			if _, err := refresh(ctx, conf, old); !isOAuthError(err, "invalid_grant") {
				t.Fatalf("reuse of a rotated refresh token: %v", err)
			}
			// Reuse revoked the family: the new refresh token and the
			// access tokens are dead too.
			if _, err := refresh(ctx, conf, tok2.RefreshToken); !isOAuthError(err, "invalid_grant") {
				t.Errorf("refresh after reuse: %v", err)
			}
			resp = rawPost(t, e.url(a.ID), tok2.AccessToken, listBody(1))
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("access token after family revocation: %s", resp.Status)
			}
		})

		t.Run("key rotation keeps old tokens valid until expiry", func(t *testing.T) {
			code, verifier := flow(t, "alice", resA)
			before, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			newKey, err := oauth.RotateKeys(ctx, s, e.box, e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := e.as.ReloadKeys(ctx); err != nil {
				t.Fatal(err)
			}
			code, verifier = flow(t, "alice", resA)
			after, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if kid := jwtKeyID(t, after.AccessToken); kid != newKey {
				t.Errorf("a token after rotation is signed by %s, want %s", kid, newKey)
			}
			oldKey := jwtKeyID(t, before.AccessToken)
			for _, tok := range []*oauth2.Token{before, after} {
				resp := rawPost(t, e.url(a.ID), tok.AccessToken, listBody(1))
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("token signed by %s after rotation: %s", jwtKeyID(t, tok.AccessToken), resp.Status)
				}
			}
			// Once the overlap has passed, the old key leaves the JWKS.
			defer e.clock.Add(oauth.KeyOverlap + time.Minute)()
			if err := e.as.ReloadKeys(ctx); err != nil {
				t.Fatal(err)
			}
			var jwks struct {
				Keys []struct {
					KID string `json:"kid"`
				} `json:"keys"`
			}
			getJSON(t, e.srv.URL+"/oauth/keys", &jwks)
			if len(jwks.Keys) != 1 || jwks.Keys[0].KID != newKey {
				t.Errorf("JWKS after the overlap: %+v, want only %s (old %s)", jwks, newKey, oldKey)
			}
		})

		t.Run("expired token", func(t *testing.T) {
			code, verifier := flow(t, "alice", resA)
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			defer e.clock.Add(oauth.AccessTokenTTL + time.Second)()
			resp := rawPost(t, e.url(a.ID), tok.AccessToken, listBody(1))
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("expired token: %s", resp.Status)
			}
		})

		t.Run("a signed-in browser only consents", func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			v1 := oauth2.GenerateVerifier()
			loc := e.authorizeIn(jar, conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(v1), oauth2.SetAuthURLParam("resource", resA)), "alice", testPassword)
			if loc.Query().Get("code") == "" {
				t.Fatalf("first authorization: %s", loc)
			}
			u, _ := url.Parse(e.srv.URL)
			var session *http.Cookie
			for _, c := range jar.Cookies(u) {
				if c.Name == oauth.SessionCookie {
					session = c
				}
			}
			if session == nil {
				t.Fatal("no session cookie after signing in")
			}
			v2 := oauth2.GenerateVerifier()
			loc = e.authorizeIn(jar, conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(v2), oauth2.SetAuthURLParam("resource", resA)), "", "")
			if _, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v2)); err != nil {
				t.Fatalf("second authorization, consent only: %s %v", loc, err)
			}
		})

		t.Run("deny", func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := browser.Get(conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", resA)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := resp.Location()
			resp, err = browser.Get(loc.String())
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id, csrf := hiddenID.FindSubmatch(page), hiddenCSRF.FindSubmatch(page)
			resp, err = browser.PostForm(e.srv.URL+"/oauth/login", url.Values{"id": {string(id[1])}, "csrf": {string(csrf[1])}, "action": {"deny"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ = resp.Location()
			if loc == nil || loc.Query().Get("error") != "access_denied" || loc.Query().Get("iss") != e.as.Issuer() {
				t.Errorf("deny: %s %v", resp.Status, loc)
			}
		})

		t.Run("code replay revokes the grant", func(t *testing.T) {
			code, verifier := flow(t, "alice", resA)
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
				t.Errorf("code replay: %v", err)
			}
			resp := rawPost(t, e.url(a.ID), tok.AccessToken, listBody(1))
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("access token of a replayed code: %s", resp.Status)
			}
			if _, err := refresh(ctx, conf, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
				t.Errorf("refresh token of a replayed code: %v", err)
			}
		})

		t.Run("revocation", func(t *testing.T) {
			code, verifier := flow(t, "alice", resA)
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			// RFC 7009: revoking the refresh token revokes its grant.
			resp, err := http.PostForm(e.srv.URL+"/oauth/revoke", url.Values{
				"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {clientID}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %s", resp.Status)
			}
			if _, err := refresh(ctx, conf, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
				t.Errorf("refresh after revocation: %v", err)
			}
			resp = rawPost(t, e.url(a.ID), tok.AccessToken, listBody(1))
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("access token after revocation: %s", resp.Status)
			}
		})

		t.Run("insufficient scope", func(t *testing.T) {
			noMCP := *conf
			noMCP.Scopes = []string{"openid"}
			verifier := oauth2.GenerateVerifier()
			loc := e.authorize(noMCP.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier),
				oauth2.SetAuthURLParam("resource", resA)), "alice")
			tok, err := noMCP.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			resp := rawPost(t, e.url(a.ID), tok.AccessToken, listBody(1))
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("token without the mcp scope: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
			}
		})

		t.Run("wrong verifier and redirect URI", func(t *testing.T) {
			code, verifier := flow(t, "alice", resA)
			if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); !isOAuthError(err, "invalid_grant") {
				t.Errorf("wrong verifier: %v", err)
			}
			code, verifier = flow(t, "alice", resA)
			other := *conf
			other.RedirectURL = "http://127.0.0.1:9/other"
			if _, err := other.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
				t.Errorf("wrong redirect_uri at the token endpoint: %v", err)
			}
		})

		t.Run("authorize refusals", func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			res := oauth2.SetAuthURLParam("resource", resA)
			for name, tc := range map[string]struct {
				url, want string
			}{
				"missing PKCE":     {conf.AuthCodeURL("s", res), "invalid_request"},
				"plain PKCE":       {conf.AuthCodeURL("s", res, oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain")), "invalid_request"},
				"missing resource": {conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), "invalid_target"},
				"foreign resource": {conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("resource", "https://evil.example/mcp/"+a.ID)), "invalid_target"},
			} {
				loc := e.authorize(tc.url, "alice")
				if got := loc.Query().Get("error"); got != tc.want {
					t.Errorf("%s: error %q, want %q (%s)", name, got, tc.want, loc)
				}
				// RFC 9207: error responses name the issuer too.
				if got := loc.Query().Get("iss"); got != e.as.Issuer() {
					t.Errorf("%s: iss %q, want %q", name, got, e.as.Issuer())
				}
			}
			// A redirect URI that was not registered is not redirected to.
			bad := *conf
			bad.RedirectURL = "http://127.0.0.1:9/elsewhere"
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
				Get(bad.AuthCodeURL("s", oauth2.S256ChallengeOption(v), res))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("unregistered redirect URI: %s", resp.Status)
			}
			// An unknown client.
			unknown := e.config("cli_unknown", redirect)
			resp, err = http.Get(unknown.AuthCodeURL("s", oauth2.S256ChallengeOption(v), res))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client") {
				t.Errorf("unknown client: %s %s", resp.Status, body)
			}
		})

		t.Run("user of another customer cannot grant", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar}
			resp, err := browser.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resA)))
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id, csrf := hiddenID.FindSubmatch(page), hiddenCSRF.FindSubmatch(page)
			resp, err = browser.PostForm(e.srv.URL+"/oauth/login", url.Values{
				"id": {string(id[1])}, "csrf": {string(csrf[1])}, "username": {"bob"}, "password": {testPassword}, "action": {"allow"},
			})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("bob granting alice's server: %s", resp.Status)
			}
			// A form without the CSRF cookie's token is refused.
			resp, err = http.PostForm(e.srv.URL+"/oauth/login", url.Values{
				"id": {string(id[1])}, "csrf": {"forged"}, "username": {"alice"}, "password": {testPassword}, "action": {"allow"},
			})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("forged CSRF token: %s", resp.Status)
			}
		})

		t.Run("registration rules", func(t *testing.T) {
			for _, uri := range []string{"http://example.com/cb", "ftp://x/cb", "https://x/cb#frag", "/relative"} {
				resp, err := http.Post(e.srv.URL+"/oauth/register", "application/json",
					strings.NewReader(`{"redirect_uris":["`+uri+`"]}`))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("redirect URI %s: %s", uri, resp.Status)
				}
			}
		})

		t.Run("API keys still work", func(t *testing.T) {
			session := connect(t, e.url(a.ID), a.key)
			if res := call(t, session, "echo", map[string]any{}); res.IsError {
				t.Fatalf("call with an API key: %s", text(res))
			}
		})
	})
}

func jwtKeyID(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.KID
}

func refresh(ctx context.Context, conf *oauth2.Config, rt string) (*oauth2.Token, error) {
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
