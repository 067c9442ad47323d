package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

const (
	staticRedirect = "http://127.0.0.1:9/cb"
	staticPassword = "a password for static clients"
)

// staticEnv is an authorization server with a customer, an MCP server and
// a local account, for code flows of operator-registered clients.
type staticEnv struct {
	t        *testing.T
	store    *store.Store
	as       *oauth.Server
	url      string
	resource string
}

func newStaticEnv(t *testing.T, s *store.Store) *staticEnv {
	t.Helper()
	ctx := context.Background()
	cust, srv := customerWithServer(t, s)
	if _, err := oauth.CreateLocalAccount(ctx, s, cust.ID, "dora", "", staticPassword, ""); err != nil {
		t.Fatal(err)
	}
	as, public := startAS(t, s)
	return &staticEnv{t: t, store: s, as: as, url: public, resource: public + "/mcp/" + srv.ID}
}

func (e *staticEnv) config(clientID, secret string, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: staticRedirect, Scopes: []string{"mcp"},
		Endpoint: oauth2.Endpoint{AuthURL: e.url + "/oauth/authorize", TokenURL: e.url + "/oauth/token", AuthStyle: style},
	}
}

// authorize runs a code flow's browser part for clientID, signing in as the
// local account, and returns the redirect to the client.
func (e *staticEnv) authorize(clientID string, params url.Values) *url.URL {
	e.t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {staticRedirect}, "response_type": {"code"},
		"resource": {e.resource}, "state": {"st"}}
	for k, v := range params {
		q[k] = v
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(r.URL.String(), e.url) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(e.url + "/oauth/authorize?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode == http.StatusFound {
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			e.t.Fatal(err)
		}
		return loc
	}
	page := readAll(resp)
	id, csrf := field(page, "id"), field(page, "csrf")
	if resp.StatusCode != http.StatusOK || id == "" || csrf == "" {
		e.t.Fatalf("authorize for %s: %s\n%s", clientID, resp.Status, page)
	}
	resp, err = browser.PostForm(e.url+"/oauth/login", url.Values{"id": {id}, "csrf": {csrf},
		"username": {"dora"}, "password": {staticPassword}, "action": {"allow"}})
	if err != nil {
		e.t.Fatal(err)
	}
	body := readAll(resp)
	loc, err := resp.Location()
	if err != nil {
		e.t.Fatalf("after login: %s %s", resp.Status, body)
	}
	return loc
}

// code runs the browser part with a PKCE challenge and returns the code.
func (e *staticEnv) code(clientID, verifier string) string {
	e.t.Helper()
	loc := e.authorize(clientID, url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"}})
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "st" {
		e.t.Fatalf("no code in the redirect %s", loc)
	}
	return code
}

// wantInvalidClient fails unless err is the token endpoint's invalid_client.
func wantInvalidClient(t *testing.T, what string, err error) {
	t.Helper()
	re, ok := errors.AsType[*oauth2.RetrieveError](err)
	if !ok || re.ErrorCode != "invalid_client" {
		t.Errorf("%s: %v, want invalid_client", what, err)
	}
}

func TestConfidentialStaticClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newStaticEnv(t, s)
		cl, secret, err := oauth.CreateStaticClient(ctx, s, "Web App", []string{"https://app.example/cb", staticRedirect}, true)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "kilncs_") || !cl.Confidential() || cl.Registration != store.OAuthClientOperator ||
			oauth.TokenEndpointAuthMethod(cl) != "client_secret_basic" {
			t.Fatalf("client %+v, secret %q", cl, secret)
		}
		verifier := oauth2.GenerateVerifier()
		code := e.code(cl.ID, verifier)

		// A wrong or missing secret is invalid_client, by Basic or in the
		// form, and does not use up the code.
		for _, c := range []struct {
			what   string
			secret string
			style  oauth2.AuthStyle
		}{
			{"wrong secret (basic)", secret + "x", oauth2.AuthStyleInHeader},
			{"wrong secret (post)", "kilncs_" + strings.Repeat("A", 43), oauth2.AuthStyleInParams},
			{"no secret", "", oauth2.AuthStyleInParams},
		} {
			_, err := e.config(cl.ID, c.secret, c.style).Exchange(ctx, code, oauth2.VerifierOption(verifier),
				oauth2.SetAuthURLParam("resource", e.resource))
			wantInvalidClient(t, c.what, err)
		}
		// The right secret without the PKCE verifier is refused: PKCE is
		// required of confidential clients too.
		if _, err := e.config(cl.ID, secret, oauth2.AuthStyleInHeader).Exchange(ctx, code); err == nil {
			t.Fatal("a code was exchanged without its PKCE verifier")
		}
		tok, err := e.config(cl.ID, secret, oauth2.AuthStyleInHeader).Exchange(ctx, e.code(cl.ID, verifier),
			oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", e.resource))
		if err != nil {
			t.Fatalf("exchange with the right secret: %v", err)
		}
		if _, err := e.as.VerifyAccessToken(ctx, tok.AccessToken, e.resource); err != nil {
			t.Fatalf("the access token does not verify: %v", err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}

		// Refreshing needs the secret as well; client_secret_post works.
		_, err = e.config(cl.ID, "wrong", oauth2.AuthStyleInParams).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		wantInvalidClient(t, "refresh with a wrong secret", err)
		next, err := e.config(cl.ID, secret, oauth2.AuthStyleInParams).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh with the secret in the form: %v", err)
		}

		// Revocation (RFC 7009) authenticates the client the same way.
		third, err := e.config(cl.ID, secret, oauth2.AuthStyleInHeader).Exchange(ctx, e.code(cl.ID, verifier), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		revoke := func(secret, token string) int {
			req, err := http.NewRequest("POST", e.url+"/oauth/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(cl.ID, secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readAll(resp)
			return resp.StatusCode
		}
		if got := revoke("wrong", third.RefreshToken); got == http.StatusOK {
			t.Error("a revocation with a wrong secret was accepted")
		}
		if got := revoke(secret, third.RefreshToken); got != http.StatusOK {
			t.Errorf("revocation with the secret: %d", got)
		}
		if _, err := e.config(cl.ID, secret, oauth2.AuthStyleInHeader).TokenSource(ctx, &oauth2.Token{RefreshToken: third.RefreshToken}).Token(); err == nil {
			t.Error("a revoked refresh token still refreshes")
		}

		// Another client's secret does not authenticate this one.
		other, otherSecret, err := oauth.CreateStaticClient(ctx, s, "Other", []string{staticRedirect}, true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.config(cl.ID, otherSecret, oauth2.AuthStyleInHeader).Exchange(ctx, e.code(cl.ID, verifier), oauth2.VerifierOption(verifier))
		wantInvalidClient(t, "another client's secret", err)
		if other.ID == cl.ID {
			t.Fatal("two clients with one id")
		}

		// Introspection (RFC 7662) tells a client about its own tokens
		// only: another client learns nothing of them.
		introspect := func(id, secret, token string) bool {
			req, err := http.NewRequest("POST", e.url+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Active   bool   `json:"active"`
				ClientID string `json:"client_id"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("introspection: %s %v", resp.Status, err)
			}
			resp.Body.Close()
			return out.Active
		}
		if !introspect(cl.ID, secret, next.AccessToken) {
			t.Error("a client's own token introspects as inactive")
		}
		if introspect(other.ID, otherSecret, next.AccessToken) {
			t.Error("another client introspected this client's token")
		}
		if introspect(cl.ID, secret, "not-a-token") {
			t.Error("garbage introspects as active")
		}
		if introspect(cl.ID, secret, third.AccessToken) {
			t.Error("an access token of a revoked grant introspects as active")
		}
		fourth, err := e.config(cl.ID, secret, oauth2.AuthStyleInHeader).Exchange(ctx, e.code(cl.ID, verifier), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if !introspect(cl.ID, secret, fourth.AccessToken) {
			t.Fatal("a live access token introspects as inactive")
		}
		if got := revoke(secret, fourth.AccessToken); got != http.StatusOK {
			t.Fatalf("revoking an access token: %d", got)
		}
		if introspect(cl.ID, secret, fourth.AccessToken) {
			t.Error("a revoked access token introspects as active")
		}

		// Deleted, the client can no longer authorize, exchange or refresh,
		// and its access tokens stop verifying.
		pending := e.code(cl.ID, verifier)
		if err := s.DeleteOAuthClient(ctx, cl.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.as.VerifyAccessToken(ctx, next.AccessToken, e.resource); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("a deleted client's access token: %v", err)
		}
		_, err = e.config(cl.ID, secret, oauth2.AuthStyleInHeader).TokenSource(ctx, &oauth2.Token{RefreshToken: next.RefreshToken}).Token()
		wantInvalidClient(t, "refresh for a deleted client", err)
		_, err = e.config(cl.ID, secret, oauth2.AuthStyleInHeader).Exchange(ctx, pending, oauth2.VerifierOption(verifier))
		wantInvalidClient(t, "exchange for a deleted client", err)
		resp, err := http.Get(e.url + "/oauth/authorize?" + url.Values{"client_id": {cl.ID}, "redirect_uri": {staticRedirect},
			"response_type": {"code"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
			"code_challenge_method": {"S256"}, "resource": {e.resource}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_client") {
			t.Errorf("authorize for a deleted client: %s %s", resp.Status, body)
		}
	})
}

func TestPublicStaticClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newStaticEnv(t, s)
		cl, secret, err := oauth.CreateStaticClient(ctx, s, "CLI", []string{staticRedirect}, false)
		if err != nil {
			t.Fatal(err)
		}
		if secret != "" || cl.Confidential() || oauth.TokenEndpointAuthMethod(cl) != "none" {
			t.Fatalf("public client %+v, secret %q", cl, secret)
		}
		verifier := oauth2.GenerateVerifier()
		tok, err := e.config(cl.ID, "", oauth2.AuthStyleInParams).Exchange(ctx, e.code(cl.ID, verifier), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("public exchange: %v", err)
		}
		if _, err := e.as.VerifyAccessToken(ctx, tok.AccessToken, e.resource); err != nil {
			t.Fatal(err)
		}
		// PKCE stays required: no challenge, no code.
		loc := e.authorize(cl.ID, nil)
		if loc.Query().Get("code") != "" || loc.Query().Get("error") != "invalid_request" {
			t.Errorf("authorize without PKCE: %s", loc)
		}
		// Only the registered redirect URIs are used.
		resp, err := http.Get(e.url + "/oauth/authorize?" + url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:10/other"},
			"response_type": {"code"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
			"code_challenge_method": {"S256"}, "resource": {e.resource}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(resp); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("an unregistered redirect URI: %s %s", resp.Status, body)
		}
	})
}

func TestStaticClientRules(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		uris []string
		want string // "" means accepted
	}{
		{"ok", []string{"https://app.example/cb", "http://127.0.0.1:43123/cb", "http://[::1]/cb", "http://localhost:8080/x"}, ""},
		{"", []string{"https://app.example/cb"}, "needs a name"},
		{"  ", []string{"https://app.example/cb"}, "needs a name"},
		{"tab\tname", []string{"https://app.example/cb"}, "control characters"},
		{strings.Repeat("n", 201), []string{"https://app.example/cb"}, "at most 200"},
		{"x", nil, "one to 10 redirect URIs; 0 were given"},
		{"x", slices.Repeat([]string{"https://app.example/cb"}, 11), "one to 10 redirect URIs; 11 were given"},
		{"x", []string{"http://app.example/cb"}, `"http://app.example/cb": http is only allowed on a loopback address`},
		{"x", []string{"http://10.0.0.1/cb"}, `"http://10.0.0.1/cb": http is only allowed`},
		{"x", []string{"ftp://app.example/cb"}, `"ftp://app.example/cb": the scheme must be https`},
		{"x", []string{"https://app.example/cb#x"}, "fragment"},
		{"x", []string{"https://user@app.example/cb"}, "user info"},
		{"x", []string{"cb"}, `"cb" is not an absolute URL`},
		{"x", []string{"https://app.example/cb", "https://app.example/cb"}, "listed twice"},
	} {
		_, _, err := oauth.CreateStaticClient(ctx, s, c.name, c.uris, true)
		if c.want == "" {
			if err != nil {
				t.Errorf("%q %v: %v", c.name, c.uris, err)
			}
			continue
		}
		bad, ok := errors.AsType[*oauth.ClientMetadataError](err)
		if !ok || !strings.Contains(bad.Reason, c.want) {
			t.Errorf("%q %v: %v, want a ClientMetadataError mentioning %q", c.name, c.uris, err, c.want)
		}
	}
	clients, err := s.ListOAuthClients(ctx, store.OAuthClientFilter{})
	if err != nil || len(clients) != 1 {
		t.Fatalf("stored %d clients (%v), want only the accepted one", len(clients), err)
	}
}

// The metadata names the client authentication methods static clients use.
func TestMetadataAuthMethods(t *testing.T) {
	e := newStaticEnv(t, storetest.SQLite(t))
	resp, err := http.Get(e.url + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
		PKCE    []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Methods, []string{"none", "client_secret_basic", "client_secret_post"}) || !slices.Equal(m.PKCE, []string{"S256"}) {
		t.Errorf("metadata %+v", m)
	}
}
