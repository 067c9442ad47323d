package mcphost

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/kilnhq/kiln/pkg/auth"
)

// OAuthConfig connects the host to Kiln's authorization server.
type OAuthConfig struct {
	Issuer   string // the authorization server's issuer URL
	Verifier auth.TokenVerifier
}

// ProtectedResourceMetadata serves RFC 9728 metadata at
// /.well-known/oauth-protected-resource/mcp/{server}. Mount it at
// /.well-known/oauth-protected-resource/ with the path intact.
func (h *Host) ProtectedResourceMetadata() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp/{server}", h.serveResourceMetadata)
	return mux
}

func (h *Host) serveResourceMetadata(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("server")
	if !auth.ValidServerID(id) {
		http.NotFound(w, r)
		return
	}
	meta := oauthex.ProtectedResourceMetadata{
		Resource:               h.ResourceURL(id),
		ScopesSupported:        []string{auth.ScopeMCP},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "Kiln MCP server " + id,
	}
	if h.cfg.OAuth != nil {
		meta.AuthorizationServers = []string{h.cfg.OAuth.Issuer}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(meta)
}

// authenticateOAuth admits an OAuth access token for serverID, answering
// 401 invalid_token or 403 insufficient_scope itself when it does not.
func (h *Host) authenticateOAuth(w http.ResponseWriter, r *http.Request, serverID, token string) (auth.AccessToken, bool) {
	resource := h.ResourceURL(serverID)
	at, err := h.cfg.OAuth.Verifier.VerifyAccessToken(r.Context(), token, resource)
	switch {
	case errors.Is(err, auth.ErrInvalidToken):
		h.unauthorized(w, serverID, "invalid_token", "The access token is not valid for this server.")
		return auth.AccessToken{}, false
	case err != nil:
		h.log.ErrorContext(r.Context(), "verifying an access token", "server", serverID, "error", err)
		writeError(w, http.StatusServiceUnavailable, nil, "Kiln could not check the access token; try again shortly.")
		return auth.AccessToken{}, false
	}
	if _, ok := auth.ToolScopes(at.Scopes); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+auth.ScopeMCP+
			`", resource_metadata="`+h.resourceMetadataURL(serverID)+`"`)
		writeError(w, http.StatusForbidden, nil, "The access token lacks the scope "+auth.ScopeMCP+" (or "+auth.ScopeToolPrefix+"TOOL for one tool).")
		return auth.AccessToken{}, false
	}
	return at, true
}

// looksLikeJWT reports whether a bearer token has the shape of a JWS.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }
