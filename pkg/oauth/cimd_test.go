package oauth_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox/egress"
)

func TestClientIDMetadataDocument(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, srv := customerWithServer(t, s)
		// The client's metadata document, on https at 127.0.0.1.
		doc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"client_id":"https://` + r.Host + `/client.json","client_name":"CIMD Client",` +
				`"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}`))
		}))
		defer doc.Close()
		clientID := doc.URL + "/client.json"
		pool := x509.NewCertPool()
		pool.AddCert(doc.Certificate())

		box := newBox(t)
		authorize := func(cfg oauth.Config, clientID string) (*http.Response, string) {
			hs := httptest.NewUnstartedServer(nil)
			public := "http://" + hs.Listener.Addr().String()
			cfg.Store, cfg.Secrets, cfg.PublicURL = s, box, public
			as, err := oauth.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			hs.Config.Handler = as.Handler()
			hs.Start()
			t.Cleanup(hs.Close)
			q := url.Values{"client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"},
				"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
				"resource": {public + "/mcp/" + srv.ID}, "state": {"x"}}
			resp, err := (&http.Client{Jar: &cookieJar{}}).Get(hs.URL + "/oauth/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			return resp, readAll(resp)
		}

		// By default, a document on a loopback or private address is refused.
		for _, id := range []string{clientID, "https://10.0.0.1/client.json", "https://169.254.169.254/latest/meta-data"} {
			resp, body := authorize(oauth.Config{CIMDOptions: []egress.Option{egress.WithRootCAs(pool)}}, id)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_client") {
				t.Errorf("CIMD client_id %s: %s %s", id, resp.Status, body)
			}
		}
		// Allowed by the operator (as tests must, to reach 127.0.0.1), the
		// document is fetched and its client goes to the login page.
		resp, body := authorize(oauth.Config{
			CIMDEgress:  egress.Policy{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
			CIMDOptions: []egress.Option{egress.WithRootCAs(pool)},
		}, clientID)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "CIMD Client") {
			t.Errorf("CIMD client: %s %s", resp.Status, body)
		}
	})
}
