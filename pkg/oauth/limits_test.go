package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestUnauthenticatedEndpointsAreRateLimited crosses the per-address limits
// on registration (30 a minute) and login attempts (20 a minute).
func TestUnauthenticatedEndpointsAreRateLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, public := startAS(t, s)
		for _, tc := range []struct {
			path, contentType, body string
			limit                   int
		}{
			{"/oauth/register", "application/json", `{"client_name":"t","redirect_uris":["http://127.0.0.1:9/cb"]}`, 30},
			{"/oauth/login", "application/x-www-form-urlencoded", url.Values{"username": {"nobody"}, "password": {"x"}}.Encode(), 20},
		} {
			for i := 1; i <= tc.limit+1; i++ {
				resp, err := http.Post(public+tc.path, tc.contentType, strings.NewReader(tc.body))
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
