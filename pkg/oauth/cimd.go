package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
// MCP 2025-11-25): a client_id that is an https URL names a JSON document
// describing the client. Anyone may name any URL at /oauth/authorize,
// unauthenticated, so a fetch is bounded every way:
//
//   - where: the guarded egress client with a policy of its own that never
//     reaches a private, loopback, link-local, CGNAT or reserved address.
//     The operator's exceptions for tools (AllowPrivate) do not apply: a
//     document is public by nature, and a fetch whose outcome an anonymous
//     caller sees would otherwise probe the internal network for them.
//   - how often: per client address and per node (cimdLimits); a refusal is
//     429 (503 if the limiter fails) temporarily_unavailable with
//     Retry-After.
//   - how much: one request, no redirects, 5 KiB, 5 s.
//   - how long it is kept: in memory, up to cimdCacheEntries documents, each
//     for its Cache-Control max-age bounded to [cimdMinCache, cimdMaxCache];
//     the client's row (which authorization requests and tokens refer to)
//     expires too, see PutOAuthClient and Cleanup.
//
// Only the authorization endpoint fetches. The token, revocation and
// introspection endpoints use the stored row, which lives as long as
// anything refers to it: a grant keeps working after the document's cache
// entry expires (and while the document's host is down), until its tokens
// expire or are revoked; the next /oauth/authorize fetches the document
// again and is held to what it says then.
const (
	cimdMaxBytes     = 5 << 10
	cimdTimeout      = 5 * time.Second
	cimdMinCache     = time.Minute
	cimdMaxCache     = 24 * time.Hour
	cimdDefaultCache = 5 * time.Minute
	cimdCacheEntries = 1000
)

// cimdLimits bound fetches of metadata documents. Only cache misses count,
// and a document names a client application, not a user, so real traffic
// needs few: ten a minute from one address is plenty, and sixty a minute
// per node caps what the whole internet can make one node fetch (and the
// client rows it can create: at most sixty a minute, each gone within
// authRequestTTL plus a cleanup period unless a grant keeps it).
type cimdLimits struct {
	perAddr, perNode ratelimit.Limit
}

func defaultCIMDLimits() cimdLimits {
	return cimdLimits{perAddr: ratelimit.PerMinute(10), perNode: ratelimit.PerMinute(60)}
}

// cimdFetcher holds the state of metadata document fetches.
type cimdFetcher struct {
	cache  *cimdCache
	limits cimdLimits
	// node counts this node's fetches: in process even when the per-address
	// limiter is shared through Redis, since the bound is on this node's
	// outgoing requests.
	node ratelimit.Limiter
	// options reach the test's document server (a resolver, a dialer and
	// root CAs). Only tests set them (export_test.go): nothing in Config
	// or the command line does.
	options []egress.Option
}

func newCIMDFetcher() *cimdFetcher {
	return &cimdFetcher{cache: newCIMDCache(cimdCacheEntries), limits: defaultCIMDLimits(), node: ratelimit.NewLocal()}
}

// isCIMD reports whether a client_id is a metadata document URL.
func isCIMD(clientID string) bool { return strings.HasPrefix(clientID, "https://") }

// cimdClient returns the client a metadata document URL describes, from
// the cache or fetched, and makes sure its row exists for authRequestTTL
// more: the authorization request about to be stored refers to it.
func (s *Server) cimdClient(ctx context.Context, clientID string, info requestInfo) (*client, error) {
	now := s.now()
	row, ok := s.cimd.cache.get(clientID, now)
	if !ok {
		// A client_id that is no document URL is refused before it counts.
		rule, err := cimdRule(clientID)
		if err != nil {
			return nil, oidc.ErrInvalidClient().WithDescription("client metadata document: %s", err.Error())
		}
		if err := s.cimdAllowed(ctx, info); err != nil {
			return nil, err
		}
		var lifetime time.Duration
		row, lifetime, err = s.fetchCIMD(ctx, clientID, rule)
		if err != nil {
			return nil, oidc.ErrInvalidClient().WithDescription("client metadata document: %s", err.Error())
		}
		s.cimd.cache.put(row, now.Add(lifetime))
	}
	if err := s.store.PutOAuthClient(ctx, &row, now.Add(authRequestTTL)); errors.Is(err, store.ErrConflict) {
		return nil, oidc.ErrInvalidClient().WithDescription("the client_id belongs to a client registered otherwise")
	} else if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return newClient(row, s.issuer)
}

// cimdAllowed counts a fetch against the client address's and the node's
// limits, refusing as every rate limit does (ratelimit.Admit): 429 over a
// limit, 503 when the limiter fails.
func (s *Server) cimdAllowed(ctx context.Context, info requestInfo) error {
	checks := []struct {
		lim   ratelimit.Limiter
		key   string
		limit ratelimit.Limit
		who   string
	}{
		{s.limiter, "oauth-cimd:" + info.addr, s.cimd.limits.perAddr, "from this address"},
		{s.cimd.node, "oauth-cimd", s.cimd.limits.perNode, "on this server"},
	}
	for _, c := range checks {
		refusal := ratelimit.Admit(ctx, c.lim, c.key, c.limit)
		if refusal == nil {
			continue
		}
		if info.header != nil {
			refusal.SetHeader(info.header)
		}
		desc := fmt.Sprintf("too many client metadata documents fetched %s; retry in %v", c.who, refusal.Wait())
		if refusal.Err != nil {
			s.log.ErrorContext(ctx, "rate limiter", "endpoint", "cimd", "error", refusal.Err)
			desc = "Kiln could not check its rate limits; try again shortly"
		}
		return (&oidc.Error{ErrorType: "temporarily_unavailable", Description: desc}).WithParent(&cimdRefusal{refusal})
	}
	return nil
}

// cimdRefusal is a fetch the rate limits refused; the authorization
// endpoint answers with its status.
type cimdRefusal struct{ *ratelimit.Refusal }

func (r *cimdRefusal) Error() string {
	return fmt.Sprintf("oauth: client metadata document fetch refused (%d)", r.Status)
}

// cimdRule checks that a client_id is a metadata document URL and returns
// the egress rule allowing its host alone.
func cimdRule(clientID string) (egress.Rule, error) {
	u, err := url.Parse(clientID)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" ||
		u.Path == "" || u.Path == "/" || strings.Contains(u.Path, "/./") || strings.Contains(u.Path, "/../") {
		return egress.Rule{}, fmt.Errorf("the client_id is not an https URL with a path")
	}
	rule, err := egress.ParseRule("https://" + u.Host)
	if err != nil {
		return egress.Rule{}, fmt.Errorf("the client_id host is not allowed: %w", err)
	}
	return rule, nil
}

// fetchCIMD fetches and checks a metadata document, returning the client
// row it describes and how long to cache it.
func (s *Server) fetchCIMD(ctx context.Context, clientID string, rule egress.Rule) (store.OAuthClient, time.Duration, error) {
	// No AllowPrivate, ever: see the comment at the top of the file.
	hc, err := egress.NewClient(egress.Policy{
		Allow: []egress.Rule{rule}, MaxRequests: 1, MaxResponseBytes: cimdMaxBytes, MaxRedirects: -1, Timeout: cimdTimeout,
	}, nil, s.cimd.options...)
	if err != nil {
		return store.OAuthClient{}, 0, fmt.Errorf("egress client: %w", err)
	}
	resp, err := hc.Do(ctx, egress.Request{URL: clientID, Header: http.Header{"Accept": {"application/json"}}})
	if err != nil {
		return store.OAuthClient{}, 0, fmt.Errorf("fetching it failed: %w", err)
	}
	if resp.Status != http.StatusOK {
		return store.OAuthClient{}, 0, fmt.Errorf("fetching it answered %d", resp.Status)
	}
	row, err := parseCIMD(clientID, resp.Body)
	if err != nil {
		return store.OAuthClient{}, 0, err
	}
	return row, cimdLifetime(resp.Header), nil
}

// parseCIMD checks a metadata document by the rules of registration.
func parseCIMD(clientID string, body []byte) (store.OAuthClient, error) {
	var doc registration
	if err := json.Unmarshal(body, &doc); err != nil {
		return store.OAuthClient{}, fmt.Errorf("it is not JSON client metadata")
	}
	switch {
	case doc.ClientID != clientID:
		return store.OAuthClient{}, fmt.Errorf("its client_id does not equal its URL")
	case doc.TokenEndpointAuthMethod != "" && doc.TokenEndpointAuthMethod != "none":
		return store.OAuthClient{}, fmt.Errorf("only public clients (token_endpoint_auth_method none) are supported")
	case len(doc.RedirectURIs) == 0 || len(doc.RedirectURIs) > 10:
		return store.OAuthClient{}, fmt.Errorf("it needs one to ten redirect_uris")
	case len(doc.ClientName) > 200:
		return store.OAuthClient{}, fmt.Errorf("its client_name is too long")
	}
	for _, r := range doc.RedirectURIs {
		if err := checkRedirectURI(r); err != nil {
			return store.OAuthClient{}, err
		}
	}
	uris, err := json.Marshal(doc.RedirectURIs)
	if err != nil {
		return store.OAuthClient{}, fmt.Errorf("encoding redirect URIs: %w", err)
	}
	return store.OAuthClient{ID: clientID, Name: doc.ClientName, RedirectURIs: string(uris)}, nil
}

// cimdLifetime is how long a document may be cached: its Cache-Control
// max-age within [cimdMinCache, cimdMaxCache]; no-store or no-cache mean
// the minimum (a shorter one would let a client make every request a
// fetch); none at all means cimdDefaultCache.
func cimdLifetime(h http.Header) time.Duration {
	d := cimdDefaultCache
	for _, v := range h.Values("Cache-Control") {
		for _, directive := range strings.Split(v, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return cimdMinCache
			case "max-age":
				if secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && secs >= 0 {
					d = time.Duration(min(secs, int64(cimdMaxCache/time.Second))) * time.Second
				}
			}
		}
	}
	return min(max(d, cimdMinCache), cimdMaxCache)
}
