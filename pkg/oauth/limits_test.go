package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestUnauthenticatedEndpointsAreRateLimited crosses the per-address limits
// on registration (30 a minute) and login attempts (20 a minute).
func TestUnauthenticatedEndpointsAreRateLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		hs := httptest.NewUnstartedServer(nil)
		public := "http://" + hs.Listener.Addr().String()
		as, err := oauth.New(context.Background(), oauth.Config{Store: s, Secrets: newBox(t), PublicURL: public})
		if err != nil {
			t.Fatal(err)
		}
		hs.Config.Handler = as.Handler()
		hs.Start()
		defer hs.Close()
		for _, tc := range []struct {
			path, contentType, body string
			limit                   int
		}{
			{"/oauth/register", "application/json", `{"client_name":"t","redirect_uris":["http://127.0.0.1:9/cb"]}`, 30},
			{"/oauth/login", "application/x-www-form-urlencoded", url.Values{"username": {"nobody"}, "password": {"x"}}.Encode(), 20},
		} {
			for i := 1; i <= tc.limit+1; i++ {
				resp, err := http.Post(hs.URL+tc.path, tc.contentType, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				limited := resp.StatusCode == http.StatusTooManyRequests
				if limited != (i > tc.limit) {
					t.Fatalf("%s attempt %d: status %d", tc.path, i, resp.StatusCode)
				}
				if limited && resp.Header.Get("Retry-After") == "" {
					t.Fatalf("%s: 429 without Retry-After", tc.path)
				}
			}
		}
	})
}
