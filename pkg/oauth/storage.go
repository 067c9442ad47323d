package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kilnhq/kiln/pkg/store"
)

// storage is op.Storage on pkg/store.
type storage struct{ s *Server }

var _ op.Storage = (*storage)(nil)

// authRequest is op.AuthRequest over a stored row.
type authRequest struct {
	row store.OAuthAuthRequest
	req oidc.AuthRequest
}

func (a *authRequest) GetID() string         { return a.row.ID }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAMR() []string      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string { return []string{a.row.Resource} }
func (a *authRequest) GetAuthTime() time.Time {
	if a.row.AuthTime == nil {
		return time.Time{}
	}
	return *a.row.AuthTime
}
func (a *authRequest) GetClientID() string { return a.row.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string {
	if a.row.UserID == nil {
		return ""
	}
	return *a.row.UserID
}
func (a *authRequest) Done() bool { return a.row.UserID != nil }

// refreshRequest is op.RefreshTokenRequest over a stored refresh token.
type refreshRequest struct {
	tok    store.OAuthToken
	scopes []string
}

func (r *refreshRequest) GetAMR() []string             { return []string{"pwd"} }
func (r *refreshRequest) GetAudience() []string        { return []string{r.tok.Resource} }
func (r *refreshRequest) GetAuthTime() time.Time       { return r.tok.AuthTime }
func (r *refreshRequest) GetClientID() string          { return r.tok.ClientID }
func (r *refreshRequest) GetScopes() []string          { return r.scopes }
func (r *refreshRequest) GetSubject() string           { return r.tok.UserID }
func (r *refreshRequest) SetCurrentScopes(sc []string) { r.scopes = sc }

// createAuthRequest stores an authorization request with its resource.
func (st *storage) createAuthRequest(ctx context.Context, req *oidc.AuthRequest, resource string) (*authRequest, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("oauth: encoding auth request: %w", err)
	}
	row := store.OAuthAuthRequest{
		ClientID: req.ClientID, Request: string(data), Resource: resource,
		ExpiresAt: st.s.now().Add(authRequestTTL),
	}
	if err := st.s.store.CreateOAuthAuthRequest(ctx, &row); err != nil {
		return nil, err
	}
	return &authRequest{row: row, req: *req}, nil
}

func decodeAuthRequest(row store.OAuthAuthRequest) (*authRequest, error) {
	a := &authRequest{row: row}
	if err := json.Unmarshal([]byte(row.Request), &a.req); err != nil {
		return nil, fmt.Errorf("oauth: decoding auth request %s: %w", row.ID, err)
	}
	return a, nil
}

// CreateAuthRequest is not used: Kiln's Authorize stores the resource too.
func (st *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, oidc.ErrServerError().WithDescription("auth requests are created with their resource")
}

func (st *storage) authRequestByID(ctx context.Context, id string) (*authRequest, error) {
	row, err := st.s.store.OAuthAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return decodeAuthRequest(row)
}

func (st *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := st.authRequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (st *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	row, err := st.s.store.OAuthAuthRequestByCodeHash(ctx, store.HashOAuthSecret(code))
	if err != nil {
		return nil, err
	}
	if row.UsedAt != nil {
		// A replayed code: revoke what the first exchange issued
		// (RFC 6749 section 4.1.2).
		st.s.log.WarnContext(ctx, "authorization code replayed: revoking its grant", "client", row.ClientID)
		userID := ""
		if row.UserID != nil {
			userID = *row.UserID
		}
		st.revokeFamily(ctx, familyOf(row.ID), reuseCode, row.ClientID, userID)
		return nil, errors.New("oauth: authorization code already used")
	}
	return decodeAuthRequest(row)
}

func (st *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return st.s.store.SetOAuthCode(ctx, id, store.HashOAuthSecret(code), st.s.now().Add(codeTTL))
}

// DeleteAuthRequest is called by op once a code is exchanged: the request
// is marked used (and kept until it expires, to recognize a replay).
func (st *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := st.s.store.UseOAuthAuthRequest(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// A concurrent exchange of the same code won: a replay.
			st.revokeFamily(ctx, familyOf(id), reuseCode, "", "")
			return oidc.ErrInvalidGrant().WithDescription("the code was already used")
		}
		return err
	}
	return nil
}

// familyOf is the token family of the grant an authorization request
// started, so that a code replay can revoke it.
func familyOf(authRequestID string) string { return "fam_" + authRequestID }

// grantOf says who a token request is for.
func grantOf(req op.TokenRequest) (clientID, resource string, authTime time.Time, familyID string, err error) {
	switch r := req.(type) {
	case *authRequest:
		return r.GetClientID(), r.row.Resource, r.GetAuthTime(), familyOf(r.row.ID), nil
	case *refreshRequest:
		return r.tok.ClientID, r.tok.Resource, r.tok.AuthTime, r.tok.FamilyID, nil
	default:
		return "", "", time.Time{}, "", oidc.ErrUnsupportedGrantType()
	}
}

func (st *storage) accessToken(req op.TokenRequest, familyID string) (*store.OAuthToken, error) {
	clientID, resource, authTime, _, err := grantOf(req)
	if err != nil {
		return nil, err
	}
	scopes, err := json.Marshal(req.GetScopes())
	if err != nil {
		return nil, fmt.Errorf("oauth: encoding scopes: %w", err)
	}
	return &store.OAuthToken{
		ID: "tok_" + randomToken(16), Kind: store.OAuthAccessToken, FamilyID: familyID,
		ClientID: clientID, UserID: req.GetSubject(), Resource: resource, Scopes: string(scopes),
		AuthTime: authTime, ExpiresAt: st.s.now().Add(AccessTokenTTL),
	}, nil
}

func (st *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	_, _, _, family, err := grantOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	at, err := st.accessToken(req, family)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := st.s.store.CreateOAuthTokens(ctx, nil, at); err != nil {
		return "", time.Time{}, err
	}
	return at.ID, at.ExpiresAt, nil
}

// CreateAccessAndRefreshTokens issues an access token and a new refresh
// token; when refreshing, the presented refresh token is marked rotated in
// the same transaction, and losing that race counts as reuse.
func (st *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	_, _, _, family, err := grantOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	var rotate *string
	if rr, ok := req.(*refreshRequest); ok && current != "" {
		rotate = &rr.tok.ID
	}
	at, err := st.accessToken(req, family)
	if err != nil {
		return "", "", time.Time{}, err
	}
	value := "kilnrt_" + randomToken(32)
	rt := *at
	rt.ID, rt.Kind = "tok_"+randomToken(16), store.OAuthRefreshToken
	rt.TokenHash = store.HashOAuthSecret(value)
	rt.ExpiresAt = st.s.now().Add(RefreshTokenTTL)
	if err := st.s.store.CreateOAuthTokens(ctx, rotate, at, &rt); err != nil {
		if errors.Is(err, store.ErrNotFound) && rotate != nil {
			st.revokeFamily(ctx, family, reuseRefreshToken, at.ClientID, at.UserID)
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
		}
		return "", "", time.Time{}, err
	}
	return at.ID, value, at.ExpiresAt, nil
}

// Why a token family is revoked (ActionFamilyRevoke's details.reason).
const (
	reuseRefreshToken = "refresh_token_reuse"
	reuseCode         = "code_replay"
)

// revokeFamily revokes a grant's tokens because a credential was presented
// again, and records it. clientID and userID are "" when unknown.
func (st *storage) revokeFamily(ctx context.Context, family, reason, clientID, userID string) {
	if err := st.s.store.RevokeOAuthTokenFamily(ctx, family); err != nil {
		st.s.log.ErrorContext(ctx, "revoking a refresh token family", "family", family, "error", err)
		return
	}
	actor := actorAnonymous
	if clientID != "" {
		actor = "client:" + clientID
	}
	err := recordAudit(ctx, st.s.store, auditEvent{action: ActionFamilyRevoke, actor: actor, target: family,
		customerID: st.s.customerOf(ctx, userID),
		details:    map[string]any{"reason": reason, "client_id": clientID, "user_id": userID}})
	if err != nil {
		st.s.log.ErrorContext(ctx, "recording a token family revocation", "family", family, "error", err)
	}
}

// TokenRequestByRefreshToken finds a usable refresh token. A rotated one
// is reuse: the whole family is revoked.
func (st *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	tok, err := st.s.store.OAuthTokenByHash(ctx, store.HashOAuthSecret(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, op.ErrInvalidRefreshToken
	case err != nil:
		return nil, err
	case tok.Kind != store.OAuthRefreshToken, tok.RevokedAt != nil, !st.s.now().Before(tok.ExpiresAt):
		return nil, op.ErrInvalidRefreshToken
	case tok.RotatedAt != nil:
		st.s.log.WarnContext(ctx, "refresh token reused: revoking its family", "family", tok.FamilyID, "client", tok.ClientID)
		st.revokeFamily(ctx, tok.FamilyID, reuseRefreshToken, tok.ClientID, tok.UserID)
		return nil, op.ErrInvalidRefreshToken
	}
	var scopes []string
	if err := json.Unmarshal([]byte(tok.Scopes), &scopes); err != nil {
		return nil, fmt.Errorf("oauth: decoding scopes of token %s: %w", tok.ID, err)
	}
	return &refreshRequest{tok: tok, scopes: scopes}, nil
}

func (st *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken revokes an access token by id or a refresh token (and its
// family) by value. Unknown tokens are not an error (RFC 7009).
func (st *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	var (
		tok store.OAuthToken
		err error
	)
	if userID != "" {
		tok, err = st.s.store.OAuthToken(ctx, tokenOrID)
	} else {
		tok, err = st.s.store.OAuthTokenByHash(ctx, store.HashOAuthSecret(tokenOrID))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return oidc.ErrServerError().WithParent(err)
	case tok.ClientID != clientID:
		return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	if tok.Kind == store.OAuthRefreshToken {
		err = st.s.store.RevokeOAuthTokenFamily(ctx, tok.FamilyID)
	} else {
		err = st.s.store.RevokeOAuthToken(ctx, tok.ID)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (st *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	tok, err := st.s.store.OAuthTokenByHash(ctx, store.HashOAuthSecret(token))
	if err != nil || tok.Kind != store.OAuthRefreshToken {
		return "", "", op.ErrInvalidRefreshToken
	}
	return tok.UserID, tok.ID, nil
}

func (st *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, err := st.s.currentKey(ctx)
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (st *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (st *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := st.s.publicKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out, nil
}

// GetClientByClientID returns a registered client. A metadata document's
// client is fetched (or taken from the cache) at the authorization endpoint;
// elsewhere its stored row serves, which lives as long as its grants.
func (st *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	if info := requestInfoFrom(ctx); isCIMD(id) && info.fetchCIMD {
		return st.s.cimdClient(ctx, id, info)
	}
	c, err := st.s.store.OAuthClient(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	case err != nil:
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return newClient(c, st.s.issuer)
}

// AuthorizeClientIDSecret authenticates a confidential client: an
// operator's client with a secret, compared in constant time by hash.
// Every other client is public (PKCE alone) and has no secret to present.
// Refusals are plain errors, which op answers with invalid_client.
func (st *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if isCIMD(id) {
		return fmt.Errorf("%w: client %s is public: authenticate with PKCE, not a secret", errClientSecret, id)
	}
	c, err := st.s.store.OAuthClient(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: unknown client", errClientSecret)
	case err != nil:
		return oidc.ErrServerError().WithParent(err)
	}
	return checkClientSecret(c, secret)
}

// SetUserinfoFromScopes sets only the subject: op copies this UserInfo into
// the ID token, over the subject it had already set there.
func (st *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, _ []string) error {
	info.Subject = userID
	return nil
}

func (st *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	if _, err := st.liveToken(ctx, tokenID); err != nil {
		return err
	}
	info.Subject = subject
	return nil
}

// errInactiveToken is returned for a token that is unknown, revoked or
// expired: op answers introspection with active=false, and userinfo with
// an error, only when the storage returns an error.
var errInactiveToken = errors.New("oauth: the token is not active")

func (st *storage) liveToken(ctx context.Context, tokenID string) (store.OAuthToken, error) {
	tok, err := st.s.store.OAuthToken(ctx, tokenID)
	if errors.Is(err, store.ErrNotFound) {
		return store.OAuthToken{}, errInactiveToken
	}
	if err != nil {
		return store.OAuthToken{}, err
	}
	if tok.RevokedAt != nil || !st.s.now().Before(tok.ExpiresAt) {
		return store.OAuthToken{}, errInactiveToken
	}
	return tok, nil
}

func (st *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	tok, err := st.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	// A client learns only about its own tokens (RFC 7662 2.2).
	if tok.ClientID != clientID {
		return errInactiveToken
	}
	var scopes []string
	if err := json.Unmarshal([]byte(tok.Scopes), &scopes); err != nil {
		return fmt.Errorf("oauth: decoding the scopes of token %s: %w", tok.ID, err)
	}
	resp.Active = true
	resp.Subject = subject
	resp.ClientID = tok.ClientID
	resp.Scope = scopes
	resp.Audience = []string{tok.Resource}
	return nil
}

func (st *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (st *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("JWT client authentication is not supported")
}

func (st *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

func (st *storage) Health(ctx context.Context) error { return st.s.store.Ping(ctx) }

// randomToken returns n random bytes, base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
