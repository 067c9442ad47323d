package mcphost

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// ScopeMCP is the scope an OAuth access token needs to call a server's tools.
const ScopeMCP = "mcp"

// ErrInvalidToken is what a TokenVerifier returns (wrapped) for a token that
// is malformed, badly signed, expired, revoked or for another audience.
var ErrInvalidToken = errors.New("mcphost: invalid access token")

// AccessToken is what a verified OAuth access token says.
type AccessToken struct {
	ID      string   // the token's id (jti)
	Subject string   // the user it was issued to
	Scopes  []string // granted scopes
}

// TokenVerifier checks an OAuth access token for one resource URL: the
// token's audience must be exactly that URL. pkg/oauth implements it.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token, resource string) (AccessToken, error)
}

// OAuthConfig connects the host to Kiln's authorization server.
type OAuthConfig struct {
	Issuer   string // the authorization server's issuer URL
	Verifier TokenVerifier
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
	if !serverIDPattern.MatchString(id) {
		http.NotFound(w, r)
		return
	}
	meta := oauthex.ProtectedResourceMetadata{
		Resource:               h.ResourceURL(id),
		ScopesSupported:        []string{ScopeMCP},
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
func (h *Host) authenticateOAuth(w http.ResponseWriter, r *http.Request, serverID, token string) (AccessToken, bool) {
	resource := h.ResourceURL(serverID)
	at, err := h.cfg.OAuth.Verifier.VerifyAccessToken(r.Context(), token, resource)
	switch {
	case errors.Is(err, ErrInvalidToken):
		h.unauthorized(w, serverID, "invalid_token", "The access token is not valid for this server.")
		return AccessToken{}, false
	case err != nil:
		h.log.Error("verifying an access token", "server", serverID, "error", err)
		writeError(w, http.StatusServiceUnavailable, nil, "Kiln could not check the access token; try again shortly.")
		return AccessToken{}, false
	}
	if !slices.Contains(at.Scopes, ScopeMCP) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+ScopeMCP+
			`", resource_metadata="`+h.resourceMetadataURL(serverID)+`"`)
		writeError(w, http.StatusForbidden, nil, "The access token lacks the scope "+ScopeMCP+".")
		return AccessToken{}, false
	}
	return at, true
}

// looksLikeJWT reports whether a bearer token has the shape of a JWS.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }
