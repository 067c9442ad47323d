package oauth

import (
	"context"
	"net/http"

	"github.com/kilnhq/kiln/pkg/ratelimit"
)

// requestInfo is what code beneath op (the storage, which op hands only a
// context) needs of the HTTP request being served.
type requestInfo struct {
	// addr is the client's address (behind trusted proxies), for rate
	// limits and the audit log.
	addr string
	// header is the response's header, for a Retry-After.
	header http.Header
	// fetchCIMD is set at the authorization endpoint only: there, and
	// nowhere else, a Client ID Metadata Document may be fetched. Other
	// endpoints use the client's stored row, which the grant keeps.
	fetchCIMD bool
}

type requestInfoKey struct{}

// withRequestInfo puts the request's requestInfo in its context.
func (s *Server) withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := requestInfo{addr: ratelimit.ClientAddr(r, s.trustedProxies), header: w.Header()}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
	})
}

// mayFetchCIMD marks the authorization endpoint, where metadata documents
// are fetched.
func mayFetchCIMD(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := requestInfoFrom(r.Context())
		info.fetchCIMD = true
		next(w, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
	}
}

// requestInfoFrom returns the context's requestInfo (the zero value outside
// a request served by Handler).
func requestInfoFrom(ctx context.Context) requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(requestInfo)
	return info
}
