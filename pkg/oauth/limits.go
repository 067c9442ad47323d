package oauth

import (
	"context"
	"net/http"
	"strconv"

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
			d, err := s.limiter.Allow(r.Context(), "oauth-"+name+":"+addr, limit)
			if err != nil {
				s.log.Warn("rate limiter failed; allowing the request", "endpoint", name, "error", err)
			} else if !d.Allowed {
				secs := max(1, int(d.RetryAfter.Seconds()+0.999))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				http.Error(w, "Too many attempts from this address. Retry in "+strconv.Itoa(secs)+" s.", http.StatusTooManyRequests)
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
