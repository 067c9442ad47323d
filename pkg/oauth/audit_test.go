package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// auditLog returns the entries of one action, newest first, each with its
// details decoded.
func auditLog(t *testing.T, s *store.Store, action string) ([]store.AuditEntry, []map[string]any) {
	t.Helper()
	entries, err := s.ListAudit(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	details := make([]map[string]any, len(entries))
	for i, e := range entries {
		if err := json.Unmarshal(e.Details, &details[i]); err != nil {
			t.Fatalf("details of %s: %v", action, err)
		}
	}
	return entries, details
}

// wantAudit fails unless entry and its details hold what want lists.
func wantAudit(t *testing.T, what string, e store.AuditEntry, details map[string]any, actor, target, customer string, want map[string]any) {
	t.Helper()
	gotCustomer := ""
	if e.CustomerID != nil {
		gotCustomer = *e.CustomerID
	}
	if e.Actor != actor || e.Target != target || gotCustomer != customer {
		t.Errorf("%s: actor %q target %q customer %q, want %q %q %q", what, e.Actor, e.Target, gotCustomer, actor, target, customer)
	}
	for k, v := range want {
		if details[k] != v {
			t.Errorf("%s: details[%s] = %v, want %v (%s)", what, k, details[k], v, e.Details)
		}
	}
}

// submitLogin opens the consent page of a new authorization request for
// clientID and posts the form with action ("allow" or "deny").
func (e *staticEnv) submitLogin(clientID, username, password, action string) *http.Response {
	e.t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {staticRedirect}, "response_type": {"code"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		"resource": {e.resource}, "state": {"st"}}
	browser := &http.Client{Jar: &cookieJar{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(e.url + "/oauth/authorize?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode == http.StatusFound {
		loc, _ := resp.Location()
		resp.Body.Close()
		if resp, err = browser.Get(loc.String()); err != nil {
			e.t.Fatal(err)
		}
	}
	page := readAll(resp)
	resp, err = browser.PostForm(e.url+"/oauth/login", url.Values{"id": {field(page, "id")}, "csrf": {field(page, "csrf")},
		"username": {username}, "password": {password}, "action": {action}})
	if err != nil {
		e.t.Fatal(err)
	}
	readAll(resp)
	return resp
}

// newAuditEnv is a staticEnv, its local account's user and a dynamically
// registered client.
func newAuditEnv(t *testing.T, s *store.Store) (*staticEnv, store.User, string) {
	t.Helper()
	e := newStaticEnv(t, s)
	acct, err := s.LocalAccountByUsername(context.Background(), "dora")
	if err != nil {
		t.Fatal(err)
	}
	dora, err := s.User(context.Background(), acct.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return e, dora, register(t, e.url)
}

// noSecrets fails if any audit entry holds one of secrets.
func noSecrets(t *testing.T, s *store.Store, secrets ...string) {
	t.Helper()
	all, err := s.ListAudit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		for _, secret := range secrets {
			if strings.Contains(string(a.Details), secret) || strings.Contains(a.Target, secret) {
				t.Errorf("audit entry %s holds a secret: %s", a.Action, a.Details)
			}
		}
	}
}

// TestSignInsAndConsentsAreAudited: a dynamic registration, sign-ins that
// succeed and fail, consents granted and denied each leave an audit entry
// saying who, what and how it ended; none holds a password or code.
func TestSignInsAndConsentsAreAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e, dora, clientID := newAuditEnv(t, s)
		user := "user:" + dora.ID
		reg, regDetails := auditLog(t, s, oauth.ActionClientRegister)
		if len(reg) != 1 {
			t.Fatalf("%d registration entries", len(reg))
		}
		wantAudit(t, "registration", reg[0], regDetails[0], "anonymous", clientID, "",
			map[string]any{"registration": "dynamic", "name": "t", "client_address": "127.0.0.1"})

		// Sign-ins: a wrong password, an unknown account (the name tried,
		// perhaps a password typed in the wrong field, is not recorded),
		// then the right one, which grants.
		const wrong, unknown = "wrong password 1234", "hunter2-as-username"
		if resp := e.submitLogin(clientID, "dora", wrong, "allow"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %s", resp.Status)
		}
		if resp := e.submitLogin(clientID, unknown, wrong, "allow"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown account: %s", resp.Status)
		}
		verifier := oauth2.GenerateVerifier()
		code := e.code(clientID, verifier)
		signIns, signInDetails := auditLog(t, s, oauth.ActionSignIn)
		if len(signIns) != 3 {
			t.Fatalf("%d sign-in entries, want 3", len(signIns))
		}
		wantAudit(t, "successful sign-in", signIns[0], signInDetails[0], user, user, dora.CustomerID,
			map[string]any{"method": "local", "outcome": "success", "client_id": clientID, "client_address": "127.0.0.1"})
		wantAudit(t, "unknown account", signIns[1], signInDetails[1], "anonymous", "", "",
			map[string]any{"method": "local", "outcome": "failure", "reason": "unknown_account", "client_id": clientID})
		wantAudit(t, "wrong password", signIns[2], signInDetails[2], "anonymous", user, dora.CustomerID,
			map[string]any{"method": "local", "outcome": "failure", "reason": "wrong_password", "client_address": "127.0.0.1"})

		// A denial, by someone not signed in.
		if resp := e.submitLogin(clientID, "", "", "deny"); resp.StatusCode != http.StatusFound {
			t.Fatalf("deny: %s", resp.Status)
		}
		consents, consentDetails := auditLog(t, s, oauth.ActionConsent)
		if len(consents) != 2 {
			t.Fatalf("%d consent entries, want 2", len(consents))
		}
		wantAudit(t, "denial", consents[0], consentDetails[0], "anonymous", clientID, "",
			map[string]any{"outcome": "denied", "resource": e.resource, "client_address": "127.0.0.1"})
		wantAudit(t, "grant", consents[1], consentDetails[1], user, clientID, dora.CustomerID,
			map[string]any{"outcome": "granted", "client_id": clientID, "resource": e.resource})
		noSecrets(t, s, staticPassword, wrong, unknown, code, verifier)
	})
}

// TestTokenFamilyRevocationsAreAudited: the revocation of a grant whose
// rotated refresh token, or whose used code, came back is recorded with
// the client that presented it; no entry holds a code or token.
func TestTokenFamilyRevocationsAreAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e, dora, clientID := newAuditEnv(t, s)
		verifier := oauth2.GenerateVerifier()
		tok, err := e.config(clientID, "", oauth2.AuthStyleInParams).Exchange(ctx, e.code(clientID, verifier), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		// Refresh once, then present the rotated refresh token again.
		refresh := func(rt string) (*oauth2.Token, error) {
			stale := &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Minute)}
			return e.config(clientID, "", oauth2.AuthStyleInParams).TokenSource(ctx, stale).Token()
		}
		next, err := refresh(tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := refresh(tok.RefreshToken); err == nil {
			t.Fatal("a rotated refresh token was accepted")
		}
		revokes, revokeDetails := auditLog(t, s, oauth.ActionFamilyRevoke)
		if len(revokes) != 1 || revokes[0].Target == "" {
			t.Fatalf("family revocations %+v", revokes)
		}
		wantAudit(t, "family revocation", revokes[0], revokeDetails[0], "client:"+clientID, revokes[0].Target, dora.CustomerID,
			map[string]any{"reason": "refresh_token_reuse", "client_id": clientID, "user_id": dora.ID, "client_address": "127.0.0.1"})

		// A second grant whose code is presented twice.
		v2 := oauth2.GenerateVerifier()
		code := e.code(clientID, v2)
		if _, err := e.config(clientID, "", oauth2.AuthStyleInParams).Exchange(ctx, code, oauth2.VerifierOption(v2)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.config(clientID, "", oauth2.AuthStyleInParams).Exchange(ctx, code, oauth2.VerifierOption(v2)); err == nil {
			t.Fatal("a used code was accepted")
		}
		revokes, revokeDetails = auditLog(t, s, oauth.ActionFamilyRevoke)
		if len(revokes) != 2 {
			t.Fatalf("%d family revocations, want 2", len(revokes))
		}
		wantAudit(t, "code replay", revokes[0], revokeDetails[0], "client:"+clientID, revokes[0].Target, dora.CustomerID,
			map[string]any{"reason": "code_replay", "client_id": clientID, "user_id": dora.ID})

		noSecrets(t, s, tok.RefreshToken, tok.AccessToken, next.RefreshToken, next.AccessToken, code, verifier, v2)
	})
}

// TestUpstreamSignInIsAudited: sign-ins through the upstream provider are
// recorded, refused (no Kiln account) and successful.
func TestUpstreamSignInIsAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newUpstreamEnv(t, s, false)
		e.signIn(t, newJar(t), e.kiln+"/oauth/upstream/start?next=/wizard", e.username())
		cust := storetest.Customer(t, s, "free")
		u := store.User{CustomerID: cust.ID, Email: upstreamEmail, Role: store.RoleOwner}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if resp, _ := e.signIn(t, newJar(t), e.kiln+"/oauth/upstream/start?next=/wizard", e.username()); resp.Request.URL.Path != "/wizard" {
			t.Fatalf("sign-in: %s at %s", resp.Status, resp.Request.URL)
		}
		entries, details := auditLog(t, s, oauth.ActionSignIn)
		if len(entries) != 2 {
			t.Fatalf("%d sign-in entries, want 2", len(entries))
		}
		wantAudit(t, "upstream sign-in", entries[0], details[0], "user:"+u.ID, "user:"+u.ID, cust.ID,
			map[string]any{"method": "upstream", "outcome": "success", "provider": e.provider, "client_address": "127.0.0.1"})
		wantAudit(t, "refused upstream sign-in", entries[1], details[1], "anonymous", "", "",
			map[string]any{"method": "upstream", "outcome": "failure", "reason": "refused", "provider": e.provider})
	})
}
