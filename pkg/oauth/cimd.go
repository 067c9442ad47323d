package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
// MCP 2025-11-25): a client_id that is an https URL names a JSON document
// describing the client. Kiln fetches it through the guarded egress client
// (no private, loopback or metadata addresses; size and time caps), caches
// it, and records the client so grants can refer to it.
const (
	cimdMaxBytes  = 5 << 10
	cimdTimeout   = 5 * time.Second
	cimdCacheFor  = 5 * time.Minute
	cimdCacheSize = 1000
)

type cimdEntry struct {
	client  *client
	expires time.Time
}

// isCIMD reports whether a client_id is a metadata document URL.
func isCIMD(clientID string) bool { return strings.HasPrefix(clientID, "https://") }

// cimdClient returns the client a metadata document URL describes.
func (s *Server) cimdClient(ctx context.Context, clientID string) (*client, error) {
	now := s.now()
	s.cimdMu.Lock()
	e, ok := s.cimd[clientID]
	s.cimdMu.Unlock()
	if ok && now.Before(e.expires) {
		return e.client, nil
	}
	c, err := s.fetchCIMD(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client metadata document: %s", err.Error())
	}
	s.cimdMu.Lock()
	if len(s.cimd) >= cimdCacheSize {
		clear(s.cimd)
	}
	s.cimd[clientID] = cimdEntry{client: c, expires: now.Add(cimdCacheFor)}
	s.cimdMu.Unlock()
	return c, nil
}

func (s *Server) fetchCIMD(ctx context.Context, clientID string) (*client, error) {
	u, err := url.Parse(clientID)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" ||
		u.Path == "" || u.Path == "/" || strings.Contains(u.Path, "/./") || strings.Contains(u.Path, "/../") {
		return nil, fmt.Errorf("the client_id is not an https URL with a path")
	}
	rule, err := egress.ParseRule("https://" + u.Host)
	if err != nil {
		return nil, fmt.Errorf("the client_id host is not allowed: %w", err)
	}
	hc, err := egress.NewClient(egress.Policy{
		Allow: []egress.Rule{rule}, AllowPrivate: s.cimdPolicy.AllowPrivate,
		MaxRequests: 1, MaxResponseBytes: cimdMaxBytes, MaxRedirects: -1, Timeout: cimdTimeout,
	}, nil, s.cimdOptions...)
	if err != nil {
		return nil, fmt.Errorf("egress client: %w", err)
	}
	resp, err := hc.Do(ctx, egress.Request{URL: clientID, Header: map[string][]string{"Accept": {"application/json"}}})
	if err != nil {
		return nil, fmt.Errorf("fetching it failed: %w", err)
	}
	if resp.Status != 200 {
		return nil, fmt.Errorf("fetching it answered %d", resp.Status)
	}
	var doc registration
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, fmt.Errorf("it is not JSON client metadata")
	}
	switch {
	case doc.ClientID != clientID:
		return nil, fmt.Errorf("its client_id does not equal its URL")
	case doc.TokenEndpointAuthMethod != "" && doc.TokenEndpointAuthMethod != "none":
		return nil, fmt.Errorf("only public clients (token_endpoint_auth_method none) are supported")
	case len(doc.RedirectURIs) == 0 || len(doc.RedirectURIs) > 10:
		return nil, fmt.Errorf("it needs one to ten redirect_uris")
	case len(doc.ClientName) > 200:
		return nil, fmt.Errorf("its client_name is too long")
	}
	for _, r := range doc.RedirectURIs {
		if err := checkRedirectURI(r); err != nil {
			return nil, err
		}
	}
	uris, err := json.Marshal(doc.RedirectURIs)
	if err != nil {
		return nil, fmt.Errorf("encoding redirect URIs: %w", err)
	}
	row := store.OAuthClient{ID: clientID, Name: doc.ClientName, RedirectURIs: string(uris)}
	if err := s.store.PutOAuthClient(ctx, &row); err != nil {
		return nil, err
	}
	return newClient(row, s.issuer)
}
