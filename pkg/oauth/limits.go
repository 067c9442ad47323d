package oauth

import (
	"context"
	"fmt"
	"net/http"

	"github.com/kilnhq/kiln/pkg/ratelimit"
)

// Limits on the two unauthenticated endpoints that cost the server: a login
// attempt runs argon2id (64 MiB, tens of milliseconds) and a registration
// writes a row. Without them, a client could exhaust memory or fill the
// database.
var (
	loginLimit    = ratelimit.PerMinute(20)
	registerLimit = ratelimit.PerMinute(30)
)

// maxConcurrentHashes bounds the argon2id computations running at once, so
// memory stays bounded (64 MiB each) whatever the number of clients.
const maxConcurrentHashes = 2

// limited wraps a handler with a per-client-address limit on POST requests.
// Behind a reverse proxy, the proxy must be among the trusted proxies, or
// every client shares its budget.
func (s *Server) limited(name string, limit ratelimit.Limit, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			addr := ratelimit.ClientAddr(r, s.trustedProxies)
			if refusal := ratelimit.Admit(r.Context(), s.limiter, "oauth-"+name+":"+addr, limit); refusal != nil {
				refusal.SetHeader(w.Header())
				msg := fmt.Sprintf("Too many attempts from this address. Retry in %v.", refusal.Wait())
				if refusal.Err != nil {
					s.log.ErrorContext(r.Context(), "rate limiter", "endpoint", name, "error", refusal.Err)
					msg = "Kiln could not check its rate limits; try again shortly."
				}
				http.Error(w, msg, refusal.Status)
				return
			}
		}
		next(w, r)
	}
}

// hashing runs fn while holding one of the argon2id slots.
func (s *Server) hashing(ctx context.Context, fn func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSlots }()
	fn()
	return nil
}
