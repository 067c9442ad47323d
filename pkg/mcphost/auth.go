package mcphost

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/store"
)

// authenticate admits a request bearing an API key scoped to this server or,
// when OAuth is configured, an access token whose audience is exactly this
// server's resource URL (see authenticateOAuth).
// Servers are private: no key, another server's key, an account-wide key,
// a revoked or expired key are all 401, with a WWW-Authenticate header
// pointing at the server's protected resource metadata (RFC 9728), which
// is where an OAuth-capable client learns how to get a token.
//
// Account-wide keys are refused on purpose: they can manage every server of
// the account, and an MCP client config is the wrong place for one.
func (h *Host) authenticate(w http.ResponseWriter, r *http.Request, serverID string) (store.APIKey, bool) {
	token, ok := auth.Bearer(r)
	if !ok {
		h.unauthorized(w, serverID, "", "This MCP server is private: send an API key for it in the header Authorization: Bearer kiln_...")
		return store.APIKey{}, false
	}
	invalid := func(msg string) (store.APIKey, bool) {
		h.unauthorized(w, serverID, "invalid_token", msg)
		return store.APIKey{}, false
	}
	if !strings.HasPrefix(token, apikey.Prefix) && h.cfg.OAuth != nil && looksLikeJWT(token) {
		at, ok := h.authenticateOAuth(w, r, serverID, token)
		if !ok {
			return store.APIKey{}, false
		}
		// The call's actor is the OAuth token (and through it the user);
		// its mcp:tool: scopes limit it as a key's tool list does.
		tools, _ := auth.ToolScopes(at.Scopes)
		// UserID: the subject, which outlives the token, names the caller
		// a multi-round call's state is bound to (input.go).
		return store.APIKey{ID: "oauth:" + at.ID, UserID: &at.Subject, Tools: tools}, true
	}
	key, err := h.keys.Check(r.Context(), token)
	switch {
	case errors.Is(err, apikey.ErrInvalid) && !strings.HasPrefix(token, apikey.Prefix):
		return invalid("The bearer token is not a Kiln API key or access token.")
	case errors.Is(err, apikey.ErrInvalid):
		return invalid("The API key is not valid.")
	case errors.Is(err, apikey.ErrUnusable):
		return invalid("The API key is revoked or expired.")
	case err != nil:
		h.log.ErrorContext(r.Context(), "checking an API key", "error", err)
		writeError(w, http.StatusServiceUnavailable, nil, "Kiln could not check the API key; try again shortly.")
		return store.APIKey{}, false
	case key.ServerID == nil:
		return invalid("This API key is for the account API; an MCP client needs a key created for this server.")
	case *key.ServerID != serverID:
		return invalid("The API key is not valid for this server.")
	}
	return key, true
}

// unauthorized writes a 401 with the challenge (RFC 6750 section 3).
func (h *Host) unauthorized(w http.ResponseWriter, serverID, errCode, msg string) {
	challenge := fmt.Sprintf(`Bearer resource_metadata=%q`, h.resourceMetadataURL(serverID))
	if errCode != "" {
		challenge = fmt.Sprintf(`Bearer error=%q, error_description=%q, resource_metadata=%q`,
			errCode, msg, h.resourceMetadataURL(serverID))
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, nil, msg)
}
