package oauth

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/store"
)

// client is op.Client for a registered client: public (PKCE alone), or
// confidential (an operator's client with a secret, and PKCE as well).
type client struct {
	id, name     string
	redirects    []string
	loginURL     string
	native       bool
	confidential bool
}

func newClient(c store.OAuthClient, issuer string) (*client, error) {
	cl := &client{id: c.ID, name: c.Name, loginURL: issuer + "/oauth/login?id=", confidential: c.Confidential()}
	if err := json.Unmarshal([]byte(c.RedirectURIs), &cl.redirects); err != nil {
		return nil, oidc.ErrServerError().WithParent(fmt.Errorf("oauth: decoding redirect URIs of client %s: %w", c.ID, err))
	}
	for _, r := range cl.redirects {
		if u, err := url.Parse(r); err == nil && u.Scheme == "http" {
			cl.native = true
		}
	}
	return cl, nil
}

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string { return nil }
func (c *client) ApplicationType() op.ApplicationType {
	if c.native {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod is none for public clients. A confidential client's is
// client_secret_basic; op's legacy server takes the secret from the form
// (client_secret_post) as readily, and either way it is checked by
// storage.AuthorizeClientIDSecret.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.confidential {
		return oidc.AuthMethodBasic
	}
	return oidc.AuthMethodNone
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string           { return c.loginURL + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return 5 * time.Minute }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(scope string) bool {
	return scope == scopeMCP || auth.ValidToolScope(scope) // per-tool: mcp:tool:NAME
}
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }

// checkRedirectURI applies Kiln's registration rules: https with a host, or
// http on a loopback address (native clients, any port); no fragment.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("redirect URI %q is not an absolute URL", raw)
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("redirect URI %q must not have a fragment or user info", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
		return fmt.Errorf("redirect URI %q: http is only allowed on a loopback address", raw)
	default:
		return fmt.Errorf("redirect URI %q: the scheme must be https (or http on loopback)", raw)
	}
}
