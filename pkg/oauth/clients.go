package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kilnhq/kiln/pkg/store"
)

// Limits on an operator-registered client, as for dynamic registration.
const (
	maxClientName        = 200
	maxRedirectURIs      = 10
	maxRedirectURILength = 2000
)

// clientSecretPrefix starts every client secret, so that one is recognized
// for what it is (and never taken for an API key or a refresh token).
const clientSecretPrefix = "kilncs_"

// ClientMetadataError is CreateStaticClient refusing its input: Reason
// says what to change, for the operator.
type ClientMetadataError struct{ Reason string }

func (e *ClientMetadataError) Error() string { return "oauth: " + e.Reason }

func badMetadata(format string, args ...any) error {
	return &ClientMetadataError{Reason: fmt.Sprintf(format, args...)}
}

// TokenEndpointAuthMethod is the client's RFC 7591 token_endpoint_auth_method.
func TokenEndpointAuthMethod(c store.OAuthClient) string {
	if c.Confidential() {
		return "client_secret_basic"
	}
	return "none"
}

// CreateStaticClient registers a client for an operator, by the rules of
// dynamic registration: a name, one to ten redirect URIs, each https or
// http on a loopback address. A confidential client gets a random secret,
// returned this once and stored as its SHA-256; it authenticates at the
// token endpoint with it (client_secret_basic or client_secret_post) and
// still uses PKCE. A public client (secret "") uses PKCE alone. Refused
// input is a *ClientMetadataError. It needs no Server: the operator API
// calls it on a store directly.
func CreateStaticClient(ctx context.Context, st *store.Store, name string, redirectURIs []string, confidential bool) (store.OAuthClient, string, error) {
	if err := checkClientName(name); err != nil {
		return store.OAuthClient{}, "", err
	}
	if err := checkRedirectURIs(redirectURIs); err != nil {
		return store.OAuthClient{}, "", err
	}
	uris, err := json.Marshal(redirectURIs)
	if err != nil {
		return store.OAuthClient{}, "", fmt.Errorf("oauth: encoding redirect URIs: %w", err)
	}
	c := store.OAuthClient{ID: "cli_" + randomToken(16), Name: name, RedirectURIs: string(uris), Registration: store.OAuthClientOperator}
	var secret string
	if confidential {
		secret = clientSecretPrefix + randomToken(32)
		c.SecretHash = store.HashOAuthSecret(secret)
	}
	if err := st.CreateOAuthClient(ctx, &c); err != nil {
		return store.OAuthClient{}, "", fmt.Errorf("oauth: registering client: %w", err)
	}
	return c, secret, nil
}

func checkClientName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return badMetadata("the client name must be valid UTF-8")
	case strings.TrimSpace(name) == "":
		return badMetadata("the client needs a name (users see it on the consent page)")
	case utf8.RuneCountInString(name) > maxClientName:
		return badMetadata("the client name is %d characters; at most %d are allowed", utf8.RuneCountInString(name), maxClientName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return badMetadata("the client name must not contain control characters")
	}
	return nil
}

// checkRedirectURIs applies the registration rules to a client's list.
func checkRedirectURIs(uris []string) error {
	if len(uris) == 0 || len(uris) > maxRedirectURIs {
		return badMetadata("a client needs one to %d redirect URIs; %d were given", maxRedirectURIs, len(uris))
	}
	for i, u := range uris {
		if len(u) > maxRedirectURILength {
			return badMetadata("redirect URI %d is %d bytes long; at most %d are allowed", i+1, len(u), maxRedirectURILength)
		}
		if err := checkRedirectURI(u); err != nil {
			return badMetadata("%v", err)
		}
		if slices.Contains(uris[:i], u) {
			return badMetadata("redirect URI %q is listed twice", u)
		}
	}
	return nil
}

// ListedRedirectURIs decodes a stored client's redirect URIs.
func ListedRedirectURIs(c store.OAuthClient) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(c.RedirectURIs), &out); err != nil {
		return nil, fmt.Errorf("oauth: decoding redirect URIs of client %s: %w", c.ID, err)
	}
	return out, nil
}

// errClientSecret is every refusal of a client's credentials: an unknown
// client, a public one, a wrong secret. op answers invalid_client.
var errClientSecret = errors.New("oauth: invalid client credentials")

// checkClientSecret checks a confidential client's secret in constant time,
// by comparing SHA-256 hashes. Public clients have no secret to present.
func checkClientSecret(c store.OAuthClient, secret string) error {
	if !c.Confidential() {
		return fmt.Errorf("%w: client %s is public: authenticate with PKCE, not a secret", errClientSecret, c.ID)
	}
	if subtle.ConstantTimeCompare(store.HashOAuthSecret(secret), c.SecretHash) != 1 {
		return fmt.Errorf("%w: wrong secret for client %s", errClientSecret, c.ID)
	}
	return nil
}
