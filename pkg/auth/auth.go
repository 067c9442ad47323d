// Package auth is what Kiln's authorization server (pkg/oauth) and its MCP
// host (pkg/mcphost) agree on: the MCP scope, what a verified access token
// says, the verifier interface the host calls and the server implements,
// and how a server ID and its resource URL are spelled. It is a leaf, in the
// spirit of go-sdk's auth package: both sides import it, neither imports
// the other.
package auth

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
)

// ScopeMCP is the scope an OAuth access token needs to call a server's tools.
const ScopeMCP = "mcp"

// ScopeToolPrefix, followed by a tool's name, is the scope of an access
// token limited to that tool of its server: per-tool authorization, as a
// server key's tool list is for API keys. A token with ScopeMCP may use
// every tool.
const ScopeToolPrefix = "mcp:tool:"

// toolNamePattern is MCP's tool name rule, which Kiln's tools follow.
var toolNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ValidToolScope reports whether scope is ScopeToolPrefix and a tool name.
func ValidToolScope(scope string) bool {
	name, ok := strings.CutPrefix(scope, ScopeToolPrefix)
	return ok && toolNamePattern.MatchString(name)
}

// ToolScopes says which tools a token's scopes allow: every tool (nil)
// with ScopeMCP, else the tools its ScopeToolPrefix scopes name; ok is
// false when they allow none, and the token may not use the server at all.
func ToolScopes(scopes []string) (tools []string, ok bool) {
	for _, s := range scopes {
		if s == ScopeMCP {
			return nil, true
		}
		if ValidToolScope(s) {
			tools = append(tools, strings.TrimPrefix(s, ScopeToolPrefix))
		}
	}
	return tools, len(tools) > 0
}

// ErrInvalidToken is what a TokenVerifier returns (wrapped) for a token that
// is malformed, badly signed, expired, revoked or for another audience.
var ErrInvalidToken = errors.New("auth: invalid access token")

// AccessToken is what a verified OAuth access token says.
type AccessToken struct {
	ID      string   // the token's id (jti)
	Subject string   // the user it was issued to
	Scopes  []string // granted scopes
}

// TokenVerifier checks an OAuth access token for one resource URL: the
// token's audience must be exactly that URL. pkg/oauth implements it; the
// MCP host calls it.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token, resource string) (AccessToken, error)
}

// maxServerIDChars bounds the base32 part of a server ID.
const maxServerIDChars = 64

// ValidServerID reports whether id is spelled as a server ID, as pkg/store
// makes them: "srv_" and 1 to 64 characters of lower-case base32. Checking
// it before any lookup keeps arbitrary path segments out of queries and
// logs. Every MCP request pays for it, so it is a loop, not a regexp.
func ValidServerID(id string) bool {
	rest, ok := strings.CutPrefix(id, "srv_")
	if !ok || len(rest) == 0 || len(rest) > maxServerIDChars {
		return false
	}
	for i := range len(rest) {
		if c := rest[i]; (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// mcpPath is where servers are served below the public URL.
const mcpPath = "/mcp/"

// ResourceURL is the URL of a server's MCP endpoint: the resource (RFC 8707)
// an access token for it is bound to, as its audience. publicURL has no
// trailing slash.
func ResourceURL(publicURL, serverID string) string { return publicURL + mcpPath + serverID }

// ResourceMetadataURL is where a client learns how to get a token for a
// server (RFC 9728).
func ResourceMetadataURL(publicURL, serverID string) string {
	return publicURL + "/.well-known/oauth-protected-resource" + mcpPath + serverID
}

// ServerIDOf returns the server ID a resource URL names, or false when it is
// not the URL of an MCP server below publicURL.
func ServerIDOf(publicURL, resource string) (string, bool) {
	id, ok := strings.CutPrefix(resource, publicURL+mcpPath)
	if !ok || !ValidServerID(id) {
		return "", false
	}
	return id, true
}

// Bearer returns the token of an "Authorization: Bearer ..." header (the
// scheme is case-insensitive, RFC 9110 section 11.1).
func Bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
