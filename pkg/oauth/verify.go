package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/store"
)

var _ auth.TokenVerifier = (*Server)(nil)

// verifySignature checks jws against the loaded key kid; known is false
// when no such key is loaded.
func (s *Server) verifySignature(ctx context.Context, jws *jose.JSONWebSignature, kid string) (payload []byte, known bool, err error) {
	keys, err := s.publicKeys(ctx)
	if err != nil {
		return nil, true, err
	}
	for _, k := range keys {
		if k.ID() == kid {
			payload, err = jws.Verify(k.Key())
			return payload, true, err
		}
	}
	return nil, false, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{auth.ErrInvalidToken}, args...)...)
}

// VerifyAccessToken checks a JWT access token issued here: signature by one
// of the signing keys, issuer, expiry, audience exactly [resource], and that
// the token is not revoked. Errors wrapping auth.ErrInvalidToken mean
// the token is not acceptable; others are failures to check.
func (s *Server) VerifyAccessToken(ctx context.Context, token, resource string) (auth.AccessToken, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return auth.AccessToken{}, invalid("not a signed JWT")
	}
	kid := jws.Signatures[0].Header.KeyID
	payload, known, err := s.verifySignature(ctx, jws, kid)
	if !known {
		// A key rotated in on another node: load it and try once more.
		s.reloadForUnknownKey(ctx)
		payload, _, err = s.verifySignature(ctx, jws, kid)
	}
	if payload == nil || err != nil {
		return auth.AccessToken{}, invalid("bad signature or unknown key")
	}
	var claims oidc.AccessTokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return auth.AccessToken{}, invalid("bad claims")
	}
	now := s.now()
	switch {
	case claims.Issuer != s.issuer:
		return auth.AccessToken{}, invalid("wrong issuer %q", claims.Issuer)
	case !now.Before(claims.Expiration.AsTime()):
		return auth.AccessToken{}, invalid("expired")
	case len(claims.Audience) != 1 || claims.Audience[0] != resource:
		return auth.AccessToken{}, invalid("audience is not this resource")
	case claims.JWTID == "":
		return auth.AccessToken{}, invalid("no token id")
	}
	tok, err := s.store.OAuthToken(ctx, claims.JWTID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return auth.AccessToken{}, invalid("unknown token")
	case err != nil:
		return auth.AccessToken{}, err
	case tok.Kind != store.OAuthAccessToken, tok.RevokedAt != nil, tok.Resource != resource,
		!now.Before(tok.ExpiresAt), tok.UserID != claims.Subject:
		return auth.AccessToken{}, invalid("revoked or expired")
	}
	// The stored grant is authoritative for scopes.
	var scopes []string
	if err := json.Unmarshal([]byte(tok.Scopes), &scopes); err != nil {
		return auth.AccessToken{}, fmt.Errorf("oauth: decoding scopes of token %s: %w", tok.ID, err)
	}
	return auth.AccessToken{ID: tok.ID, Subject: tok.UserID, Scopes: scopes}, nil
}
