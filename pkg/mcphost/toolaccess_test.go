package mcphost_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// limitedKey creates a key of srv limited to tools.
func (e *env) limitedKey(srv server, tools ...string) string {
	e.t.Helper()
	secret := apikey.Prefix + strings.ToLower(rand.Text())
	k := store.APIKey{CustomerID: srv.CustomerID, ServerID: &srv.ID, Name: "limited", Prefix: secret[:12],
		Hash: store.HashAPIKey(secret), Tools: tools}
	if err := e.store.CreateAPIKey(context.Background(), &k); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// checkLimitedToEcho: the session lists and calls echo only, and calling
// env is answered as a tool that does not exist.
func checkLimitedToEcho(t *testing.T, s *mcp.ClientSession) {
	t.Helper()
	if got := toolNames(t, s); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("a caller limited to echo lists %v", got)
	}
	if res := call(t, s, "echo", map[string]any{"text": "hi"}); res.IsError {
		t.Errorf("echo: %s", text(res))
	}
	_, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "env", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), `unknown tool "env"`) {
		t.Errorf("calling env with a caller limited to echo: %v, want unknown tool", err)
	}
}

// TestKeyLimitedToOneTool: a server key limited to one tool lists only that
// tool and cannot call the others; a key of the same server without a
// limit sees and calls every tool.
func TestKeyLimitedToOneTool(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, envOptions{})
		mod := toolsModule(t)
		srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", mod}, toolSpec{"env", "env", mod})
		checkLimitedToEcho(t, connect(t, e.url(srv.ID), e.limitedKey(srv, "echo")))
		full := connect(t, e.url(srv.ID), srv.key)
		if got := toolNames(t, full); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"echo", "env"}) {
			t.Errorf("an unlimited key lists %v", got)
		}
		if res := call(t, full, "env", map[string]any{}); res.IsError {
			t.Errorf("env with an unlimited key: %s", text(res))
		}
		// A limit naming a tool the server does not have allows nothing
		// else: the key sees no tools at all.
		if got := toolNames(t, connect(t, e.url(srv.ID), e.limitedKey(srv, "not_deployed"))); len(got) != 0 {
			t.Errorf("a key limited to an absent tool lists %v", got)
		}
	})
}

// TestTokenLimitedToOneTool: an OAuth access token granted only the scope
// mcp:tool:echo (through the real authorization flow) is limited to echo
// as a key would be.
func TestTokenLimitedToOneTool(t *testing.T) {
	e := newOAuthEnv(t, storetest.SQLite(t))
	mod := toolsModule(t)
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", mod}, toolSpec{"env", "env", mod})
	if _, err := oauth.CreateLocalAccount(context.Background(), e.store, srv.CustomerID, "alice", "alice@example.com", testPassword, ""); err != nil {
		t.Fatal(err)
	}
	const redirect = "http://127.0.0.1:9/callback"
	conf := e.config(e.register(redirect), redirect)
	conf.Scopes = []string{"mcp:tool:echo"}
	verifier := oauth2.GenerateVerifier()
	loc := e.authorize(conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("resource", e.host.ResourceURL(srv.ID))), "alice")
	tok, err := conf.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("token for mcp:tool:echo: %v (authorization response %s)", err, loc)
	}
	if scope, _ := tok.Extra("scope").(string); !slices.Contains(strings.Fields(scope), "mcp:tool:echo") || slices.Contains(strings.Fields(scope), "mcp") {
		t.Errorf("granted scope %q, want mcp:tool:echo without mcp", scope)
	}
	checkLimitedToEcho(t, connect(t, e.url(srv.ID), tok.AccessToken))
}
