package mcphost_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// noRedirects is a browser with jar that stops at every redirect.
func noRedirects(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOAuthPrompt: prompt=none answers without a page (a code for a
// signed-in user who granted the client before, login_required or
// consent_required otherwise), and prompt=login asks a signed-in browser
// for the password again.
func TestOAuthPrompt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newOAuthEnv(t, s)
		ctx := context.Background()
		a := e.addServer(bigPlan.Name, toolSpec{"echo", "test_embedded_resource", conformanceWATModule(t)})
		b := e.addServer(bigPlan.Name, toolSpec{"echo", "test_embedded_resource", conformanceWATModule(t)})
		if _, err := oauth.CreateLocalAccount(ctx, s, a.CustomerID, "alice", "alice@example.com", testPassword, ""); err != nil {
			t.Fatal(err)
		}
		const redirect = "http://127.0.0.1:9/callback"
		conf := e.config(e.register(redirect), redirect)
		resA, resB := e.host.ResourceURL(a.ID), e.host.ResourceURL(b.ID)
		authURL := func(resource string, verifier string, extra ...oauth2.AuthCodeOption) string {
			return conf.AuthCodeURL("st4te", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier),
				oauth2.SetAuthURLParam("resource", resource)}, extra...)...)
		}
		none := oauth2.SetAuthURLParam("prompt", "none")
		// silent runs /authorize in the browser and returns where it sent
		// the browser: prompt=none never shows a page.
		silent := func(t *testing.T, jar http.CookieJar, u string) url.Values {
			t.Helper()
			resp, err := noRedirects(jar).Get(u)
			if err != nil {
				t.Fatal(err)
			}
			page := body(t, resp)
			loc, err := resp.Location()
			if err != nil || !strings.HasPrefix(loc.String(), redirect) {
				t.Fatalf("prompt=none did not go straight back to the client: %s %v\n%s", resp.Status, loc, page)
			}
			return loc.Query()
		}

		jar, _ := cookiejar.New(nil)
		if q := silent(t, jar, authURL(resA, oauth2.GenerateVerifier(), none)); q.Get("error") != "login_required" || q.Get("state") != "st4te" || q.Get("iss") != e.as.Issuer() {
			t.Fatalf("no session: %v", q)
		}
		// Signing in (and allowing) once, without exchanging the code: no
		// grant is held yet.
		v := oauth2.GenerateVerifier()
		loc := e.authorizeIn(jar, authURL(resA, v), "alice", testPassword)
		if q := silent(t, jar, authURL(resA, oauth2.GenerateVerifier(), none)); q.Get("error") != "consent_required" {
			t.Fatalf("no grant: %v", q)
		}
		if _, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v)); err != nil {
			t.Fatal(err)
		}
		// Now the grant exists: a code at once, for a working token.
		v2 := oauth2.GenerateVerifier()
		q := silent(t, jar, authURL(resA, v2, none))
		if q.Get("code") == "" || q.Get("iss") != e.as.Issuer() {
			t.Fatalf("silent authorization: %v", q)
		}
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v2))
		if err != nil {
			t.Fatal(err)
		}
		if resp := rawPost(t, e.url(a.ID), tok.AccessToken, listBody(1)); resp.StatusCode != http.StatusOK {
			t.Fatalf("MCP request with the silently issued token: %s", resp.Status)
		}
		// max_age: a session older than it is no sign-in for a silent request.
		e.clock.Add(2 * time.Second)
		if q := silent(t, jar, authURL(resA, oauth2.GenerateVerifier(), none, oauth2.SetAuthURLParam("max_age", "1"))); q.Get("error") != "login_required" {
			t.Fatalf("max_age: %v", q)
		}
		// id_token_hint: a code only for the user it names.
		if q := silent(t, jar, authURL(resA, oauth2.GenerateVerifier(), none, oauth2.SetAuthURLParam("id_token_hint", "not.a.token"))); q.Get("error") != "login_required" {
			t.Fatalf("bad id_token_hint: %v", q)
		}
		v3 := oauth2.GenerateVerifier()
		q = silent(t, jar, authURL(resA, v3, none, oauth2.SetAuthURLParam("scope", "mcp openid")))
		withID, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v3))
		if err != nil {
			t.Fatal(err)
		}
		idToken, _ := withID.Extra("id_token").(string)
		if idToken == "" {
			t.Fatal("no ID token for scope openid")
		}
		if claims := jwtClaims(t, idToken); claims["sub"] == nil || claims["sub"] == "" {
			t.Fatalf("the ID token names no subject: %v", claims)
		}
		if q := silent(t, jar, authURL(resA, oauth2.GenerateVerifier(), none, oauth2.SetAuthURLParam("id_token_hint", idToken))); q.Get("code") == "" {
			t.Fatalf("id_token_hint of the signed-in user: %v", q)
		}
		if _, err := oauth.CreateLocalAccount(ctx, s, a.CustomerID, "carol", "carol@example.com", testPassword, ""); err != nil {
			t.Fatal(err)
		}
		carolJar, _ := cookiejar.New(nil)
		vc := oauth2.GenerateVerifier()
		loc = e.authorizeIn(carolJar, authURL(resA, vc), "carol", testPassword)
		if _, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(vc)); err != nil {
			t.Fatal(err)
		}
		if q := silent(t, carolJar, authURL(resA, oauth2.GenerateVerifier(), none, oauth2.SetAuthURLParam("id_token_hint", idToken))); q.Get("error") != "login_required" {
			t.Fatalf("carol's browser with alice's id_token_hint: %v", q)
		}

		// Another customer's server: the signed-in user cannot grant it.
		if q := silent(t, jar, authURL(resB, oauth2.GenerateVerifier(), none)); q.Get("error") != "access_denied" {
			t.Fatalf("foreign server: %v", q)
		}

		// Only response_mode=query: elsewhere the code would travel without
		// its iss.
		resp, err := noRedirects(jar).Get(authURL(resA, oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("response_mode", "fragment")))
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") || strings.Contains(loc, "code=") {
			t.Fatalf("response_mode=fragment: %s %s", resp.Status, loc)
		}

		// prompt=login: the signed-in browser sees the password form again.
		resp, err = (&http.Client{Jar: jar}).Get(authURL(resA, oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("prompt", "login")))
		if err != nil {
			t.Fatal(err)
		}
		if page := body(t, resp); !strings.Contains(page, `name="password"`) || strings.Contains(page, "Signed in as") {
			t.Fatalf("prompt=login did not ask for the password:\n%s", page)
		}
		loc = e.authorizeIn(jar, authURL(resA, oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("prompt", "login")), "alice", testPassword)
		if loc.Query().Get("code") == "" {
			t.Fatalf("prompt=login with the password: %s", loc)
		}
	})
}

// TestWizardSignIn: /oauth/login without an authorization request signs
// the browser in for the wizard and returns to a local path; /oauth/logout
// ends the session.
func TestWizardSignIn(t *testing.T) {
	s := storetest.SQLite(t)
	e := newOAuthEnv(t, s)
	a := e.addServer(bigPlan.Name, toolSpec{"echo", "test_embedded_resource", conformanceWATModule(t)})
	if _, err := oauth.CreateLocalAccount(context.Background(), s, a.CustomerID, "alice", "alice@example.com", testPassword, ""); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := noRedirects(jar)
	form := func(next string) (string, string) {
		t.Helper()
		resp, err := browser.Get(e.srv.URL + "/oauth/login?next=" + url.QueryEscape(next))
		if err != nil {
			t.Fatal(err)
		}
		page := body(t, resp)
		csrf := hiddenCSRF.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || csrf == nil || !strings.Contains(page, `name="next" value="`+next+`"`) {
			t.Fatalf("sign-in page: %s\n%s", resp.Status, page)
		}
		return csrf[1], page
	}
	post := func(csrf, password string) *http.Response {
		t.Helper()
		resp, err := browser.PostForm(e.srv.URL+"/oauth/login", url.Values{
			"next": {"/wizard/servers"}, "csrf": {csrf}, "username": {"alice"}, "password": {password}, "action": {"allow"},
		})
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		return resp
	}
	csrf, _ := form("/wizard/servers")
	if resp := post(csrf, "wrong password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s", resp.Status)
	}
	csrf, _ = form("/wizard/servers")
	if resp := post("forged", testPassword); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged CSRF: %s", resp.Status)
	}
	csrf, _ = form("/wizard/servers")
	resp := post(csrf, testPassword)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Path != "/wizard/servers" {
		t.Fatalf("sign-in: %s %v", resp.Status, loc)
	}
	u, _ := url.Parse(e.srv.URL)
	var session string
	for _, c := range jar.Cookies(u) {
		if c.Name == oauth.SessionCookie {
			session = c.Value
		}
	}
	if _, _, err := s.SessionByHash(context.Background(), store.HashOAuthSecret(session)); err != nil {
		t.Fatalf("no stored session: %v", err)
	}
	// Signed in, the page sends the browser on.
	resp, err := browser.Get(e.srv.URL + "/oauth/login?next=/wizard")
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Path != "/wizard" {
		t.Fatalf("signed-in sign-in page: %s %v", resp.Status, loc)
	}
	// Only local paths are returned to.
	for _, next := range []string{"//evil.example/", "https://evil.example/"} {
		resp, err := http.Get(e.srv.URL + "/oauth/login?next=" + url.QueryEscape(next))
		if err != nil {
			t.Fatal(err)
		}
		if body(t, resp); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("next=%s: %s", next, resp.Status)
		}
	}
	// Sign out: the stored session is gone, and signing out is POST only.
	resp, err = browser.Get(e.srv.URL + "/oauth/logout")
	if err != nil {
		t.Fatal(err)
	}
	if body(t, resp); resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /oauth/logout: %s", resp.Status)
	}
	// Another site's form cannot sign the user out.
	req, err := http.NewRequest("POST", e.srv.URL+"/oauth/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://evil.example")
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site logout: %s", resp.Status)
	}
	if _, _, err := s.SessionByHash(context.Background(), store.HashOAuthSecret(session)); err != nil {
		t.Fatalf("a cross-site logout ended the session: %v", err)
	}
	resp, err = browser.Post(e.srv.URL+"/oauth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if body(t, resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", resp.Status)
	}
	if _, _, err := s.SessionByHash(context.Background(), store.HashOAuthSecret(session)); err == nil {
		t.Fatal("the session survived signing out")
	}
}

// jwtClaims decodes a JWT's payload (without checking it).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
