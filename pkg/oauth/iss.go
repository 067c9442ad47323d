package oauth

import (
	"net/http"
	"net/url"
)

// withIssuer adds the iss parameter (RFC 9207) to error redirects to the
// client, which op builds without it: a client that checks iss, as the
// metadata tells it it may, must find it on errors as on codes. Successful
// responses get it where Kiln builds them (completeAuthRequest).
func (s *Server) withIssuer(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		next(&issuerWriter{ResponseWriter: w, issuer: s.issuer}, r)
	}
}

type issuerWriter struct {
	http.ResponseWriter
	issuer string
}

func (w *issuerWriter) WriteHeader(status int) {
	if status == http.StatusFound || status == http.StatusSeeOther {
		if u, err := url.Parse(w.Header().Get("Location")); err == nil {
			if q := u.Query(); q.Has("error") && !q.Has("iss") {
				q.Set("iss", w.issuer)
				u.RawQuery = q.Encode()
				w.Header().Set("Location", u.String())
			}
		}
	}
	w.ResponseWriter.WriteHeader(status)
}
