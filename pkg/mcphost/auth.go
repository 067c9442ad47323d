package mcphost

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// APIKeyPrefix starts every Kiln API key (as pkg/api makes them).
const APIKeyPrefix = "kiln_"

// touchEvery is how stale a key's last-used time may get before a request
// updates it, so that not every call is also a write.
const touchEvery = time.Minute

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
	token, ok := bearer(r)
	if !ok {
		h.unauthorized(w, serverID, "", "This MCP server is private: send an API key for it in the header Authorization: Bearer kiln_...")
		return store.APIKey{}, false
	}
	invalid := func(msg string) (store.APIKey, bool) {
		h.unauthorized(w, serverID, "invalid_token", msg)
		return store.APIKey{}, false
	}
	if !strings.HasPrefix(token, APIKeyPrefix) {
		if h.cfg.OAuth != nil && looksLikeJWT(token) {
			at, ok := h.authenticateOAuth(w, r, serverID, token)
			if !ok {
				return store.APIKey{}, false
			}
			// The call's actor is the OAuth token (and through it the user).
			return store.APIKey{ID: "oauth:" + at.ID}, true
		}
		return invalid("The bearer token is not a Kiln API key or access token.")
	}
	ctx := r.Context()
	// The lookup is by SHA-256; keys carry 130 random bits, so timing the
	// index lookup reveals nothing useful.
	key, err := h.store.APIKeyByHash(ctx, store.HashAPIKey(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalid("The API key is not valid.")
	case err != nil:
		h.log.Error("looking up an API key", "error", err)
		writeError(w, http.StatusServiceUnavailable, nil, "Kiln could not check the API key; try again shortly.")
		return store.APIKey{}, false
	}
	now := h.store.Now()
	switch {
	case !key.Usable(now):
		return invalid("The API key is revoked or expired.")
	case key.ServerID == nil:
		return invalid("This API key is for the account API; an MCP client needs a key created for this server.")
	case *key.ServerID != serverID:
		return invalid("The API key is not valid for this server.")
	}
	if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > touchEvery {
		if err := h.store.TouchAPIKey(ctx, key.ID, now); err != nil {
			h.log.Warn("recording API key use", "key", key.ID, "error", err)
		}
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

// bearer returns the token of an "Authorization: Bearer ..." header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
