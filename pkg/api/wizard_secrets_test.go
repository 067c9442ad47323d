package api_test

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/api"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/pkg/wizard/eval"
	"github.com/kilnhq/kiln/pkg/wizard/eval/evalfake"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// TestWizardSecretForSamplesAndDeploy: the eval's stock-quote task
// proposes a tool that needs an API key (a secret). Its value, supplied in
// the session, is used by the sample call (the stand-in API refuses any
// other key), is never echoed by a response or the event stream, and the
// deploy declares the env var on the server with its value set. A secret
// no tool declares is refused with 422.
func TestWizardSecretForSamplesAndDeploy(t *testing.T) {
	s := sqliteStore(t)
	tasks, err := eval.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	var desc string
	for _, task := range tasks {
		if task.ID == "stock-quote" {
			desc = task.Description
		}
	}
	fake := evalfake.New(t, map[string]string{desc: "stock-quote"})
	h := newHarness(t, s, func(d *api.Config) {
		chain, err := llm.New([]llm.ProviderConfig{{API: llm.APIAnthropic, Model: "test-model", BaseURL: fake.LLM.URL}},
			llm.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		w, err := wizard.New(wizard.Config{Store: s, Catalog: tier.NewCatalog(s), Engine: d.Engine, Builds: d.Builds, LLM: chain,
			Secrets: d.Secrets, Logger: d.Logger, Egress: egress.Policy{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		d.Wizard = w
	})
	_, key := h.customer(tier.Pro)
	var w wizardJSON
	h.do("POST", "/api/v1/wizard/sessions", key, map[string]any{"description": desc}).want(t, 201).decode(t, &w)
	h.events(t, key, w.ID, 0)
	w = h.wizardSession(t, key, w.ID)
	base := "/api/v1/wizard/sessions/" + w.ID
	h.do("POST", base+"/accept", key, map[string]any{"version": w.Version, "tools": w.Proposal.Tools}).want(t, 200).decode(t, &w)
	h.do("PUT", base+"/secrets/NOT_DECLARED", key, map[string]any{"version": w.Version, "value": "x"}).want(t, 422)
	r := h.do("PUT", base+"/secrets/ALPHAVANTAGE_KEY", key, map[string]any{"version": w.Version, "value": evalfake.SecretValue}).want(t, 200)
	var set struct {
		Version    int64    `json:"version"`
		SecretsSet []string `json:"secrets_set"`
	}
	r.decode(t, &set)
	if len(set.SecretsSet) != 1 || set.SecretsSet[0] != "ALPHAVANTAGE_KEY" {
		t.Fatalf("secrets_set %v", set.SecretsSet)
	}
	bodies := []string{string(r.body)}
	h.do("POST", base+"/generate", key, map[string]any{"version": set.Version}).want(t, 202)
	h.events(t, key, w.ID, 0)
	bodies = append(bodies, string(h.do("GET", base, key, nil).want(t, 200).body))
	w = h.wizardSession(t, key, w.ID)
	w.decodeState(t, "ready")
	var d struct{ Server struct{ ID string } }
	dep := h.do("POST", base+"/deploy", key, map[string]any{"version": w.Version, "server_name": "quotes"}).want(t, 200)
	dep.decode(t, &d)
	bodies = append(bodies, string(dep.body))
	var env struct {
		Items []struct {
			Name     string   `json:"name"`
			Secret   bool     `json:"secret"`
			HasValue bool     `json:"has_value"`
			Hosts    []string `json:"hosts"`
		} `json:"items"`
	}
	envResp := h.do("GET", "/api/v1/servers/"+d.Server.ID+"/env", key, nil).want(t, 200)
	envResp.decode(t, &env)
	bodies = append(bodies, string(envResp.body))
	if len(env.Items) != 1 || env.Items[0].Name != "ALPHAVANTAGE_KEY" || !env.Items[0].Secret || !env.Items[0].HasValue ||
		len(env.Items[0].Hosts) != 1 || !strings.HasPrefix(env.Items[0].Hosts[0], "http://127.0.0.1:") {
		t.Fatalf("the server's env %+v", env.Items)
	}
	evs, err := s.WizardEvents(context.Background(), customerOf(t, s, key), w.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		bodies = append(bodies, string(e.Data))
	}
	for _, b := range bodies {
		if strings.Contains(b, evalfake.SecretValue) {
			t.Fatalf("the secret was echoed: %s", b)
		}
	}
}

// decodeState fails unless the session is in state.
func (w wizardJSON) decodeState(t *testing.T, state string) {
	t.Helper()
	if w.State != state {
		t.Fatalf("session %s is %s, want %s: %s", w.ID, w.State, state, w.Error)
	}
}

// customerOf is the customer whose API key key is.
func customerOf(t *testing.T, s *store.Store, key string) string {
	t.Helper()
	k, err := s.APIKeyByHash(context.Background(), store.HashAPIKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return k.CustomerID
}
