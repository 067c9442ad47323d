package api_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
)

type oauthClientJSON struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	Name                    string   `json:"name"`
	RedirectURIs            []string `json:"redirect_uris"`
	Registration            string   `json:"registration"`
	Confidential            bool     `json:"confidential"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

func TestOAuthClients(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		ctx := t.Context()
		var conf oauthClientJSON
		h.admin("POST", "/oauth-clients", map[string]any{
			"name": "Web app", "redirect_uris": []string{"https://app.example/cb", "http://127.0.0.1:8123/cb"}, "confidential": true,
		}).want(t, 201).decode(t, &conf)
		if !strings.HasPrefix(conf.ClientID, "cli_") || !regexp.MustCompile(`^kilncs_[A-Za-z0-9_-]{43}$`).MatchString(conf.ClientSecret) ||
			!conf.Confidential || conf.TokenEndpointAuthMethod != "client_secret_basic" || conf.Registration != "operator" ||
			len(conf.RedirectURIs) != 2 || conf.Name != "Web app" {
			t.Fatalf("confidential client %+v", conf)
		}
		// Only the secret's hash is kept.
		stored, err := h.store.OAuthClient(ctx, conf.ClientID)
		if err != nil || string(stored.SecretHash) != string(store.HashOAuthSecret(conf.ClientSecret)) {
			t.Fatalf("stored client %+v %v", stored, err)
		}

		var pub oauthClientJSON
		r := h.admin("POST", "/oauth-clients", map[string]any{"name": "CLI", "redirect_uris": []string{"http://localhost/cb"}}).want(t, 201)
		r.decode(t, &pub)
		if pub.Confidential || pub.TokenEndpointAuthMethod != "none" || strings.Contains(string(r.body), "client_secret") {
			t.Fatalf("public client %s", r.body)
		}

		// A dynamic registration is listed only on request.
		if err := h.store.CreateOAuthClient(ctx, &store.OAuthClient{ID: "cli_dcr", Name: "DCR", RedirectURIs: `["http://127.0.0.1/cb"]`}); err != nil {
			t.Fatal(err)
		}
		var all struct{ Items []oauthClientJSON }
		r = h.admin("GET", "/oauth-clients", nil).want(t, 200)
		r.decode(t, &all)
		if len(all.Items) != 2 || all.Items[0].ClientID != pub.ClientID || all.Items[1].ClientID != conf.ClientID {
			t.Fatalf("operator clients %s", r.body)
		}
		if strings.Contains(string(r.body), "client_secret\"") || strings.Contains(string(r.body), conf.ClientSecret) {
			t.Fatalf("a secret was listed: %s", r.body)
		}
		h.admin("GET", "/oauth-clients?registration=dynamic", nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 1 || all.Items[0].ClientID != "cli_dcr" || all.Items[0].Registration != "dynamic" {
			t.Fatalf("dynamic clients %+v", all)
		}
		h.admin("GET", "/oauth-clients?registration=all&limit=2", nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 2 {
			t.Fatalf("all clients, limit 2: %+v", all)
		}
		h.admin("GET", "/oauth-clients?registration=everyone", nil).want(t, 400)
		h.admin("GET", "/oauth-clients?limit=501", nil).want(t, 400)

		var one oauthClientJSON
		h.admin("GET", "/oauth-clients/"+conf.ClientID, nil).want(t, 200).decode(t, &one)
		if one.ClientID != conf.ClientID || one.ClientSecret != "" || !one.Confidential {
			t.Fatalf("get %+v", one)
		}
		h.admin("GET", "/oauth-clients/cli_nope", nil).want(t, 404)

		// Bad input: a clear 400, naming the redirect URI at fault.
		for _, c := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"redirect_uris": []string{"https://a.example/cb"}}, "name must not be empty"},
			{map[string]any{"name": "x"}, "redirect_uris must list"},
			{map[string]any{"name": "x", "redirect_uris": []string{}}, "redirect_uris must list"},
			{map[string]any{"name": "x", "redirect_uris": []string{"http://app.example/cb"}}, `"http://app.example/cb": http is only allowed on a loopback address`},
			{map[string]any{"name": "x", "redirect_uris": []string{"https://a.example/cb", "myapp://cb"}}, `"myapp://cb"`},
			{map[string]any{"name": "x", "redirect_uris": []string{"https://a.example/cb#frag"}}, "fragment"},
			{map[string]any{"name": "x", "redirect_uris": []string{"/cb"}}, `"/cb" is not an absolute URL`},
			{map[string]any{"name": "x", "redirect_uris": []string{"https://a.example/cb", "https://a.example/cb"}}, "listed twice"},
			{map[string]any{"name": "x", "redirect_uris": strings.Split(strings.Repeat("https://a.example/cb,", 11), ",")[:11]}, "one to 10 redirect URIs"},
			{map[string]any{"name": "x", "redirect_uris": []string{"https://a.example/" + strings.Repeat("p", 3000)}}, "at most 2000"},
			{map[string]any{"name": "x", "redirect_uris": []string{"https://a.example/cb"}, "confidential": "yes"}, "confidential"},
			{map[string]any{"name": "x", "redirect_uris": []string{"https://a.example/cb"}, "secret": "mine"}, "secret"},
		} {
			if msg := h.admin("POST", "/oauth-clients", c.body).want(t, 400).errorMessage(t); !strings.Contains(msg, c.want) {
				t.Errorf("%v: %q, want it to mention %q", c.body, msg, c.want)
			}
		}

		// Any client can be deleted (its tokens go with it: see pkg/store).
		h.admin("DELETE", "/oauth-clients/"+conf.ClientID, nil).want(t, 204)
		h.admin("DELETE", "/oauth-clients/"+conf.ClientID, nil).want(t, 404)
		h.admin("GET", "/oauth-clients/"+conf.ClientID, nil).want(t, 404)
		h.admin("DELETE", "/oauth-clients/cli_dcr", nil).want(t, 204)

		var log struct {
			Items []struct {
				Actor, Action, Target string
				CustomerID            *string `json:"customer_id"`
				Details               map[string]any
			}
		}
		r = h.admin("GET", "/audit?action=oauthclient.create", nil).want(t, 200)
		r.decode(t, &log)
		if len(log.Items) != 2 || log.Items[1].Target != conf.ClientID || log.Items[1].Actor != "operator" ||
			log.Items[1].Details["confidential"] != true || log.Items[1].CustomerID != nil {
			t.Fatalf("create audit %s", r.body)
		}
		if strings.Contains(string(r.body), conf.ClientSecret) {
			t.Fatal("the audit log holds a client secret")
		}
		h.admin("GET", "/audit?action=oauthclient.delete", nil).want(t, 200).decode(t, &log)
		if len(log.Items) != 2 || log.Items[1].Target != conf.ClientID || log.Items[0].Details["registration"] != "dynamic" {
			t.Fatalf("delete audit %+v", log)
		}
	})
}
