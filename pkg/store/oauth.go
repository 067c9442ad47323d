package store

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/jmoiron/sqlx"
)

// HashOAuthSecret is how codes and refresh tokens are stored: SHA-256. They
// carry enough random bits that an unsalted hash is safe to index.
func HashOAuthSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// LocalAccount is a user's local sign-in: a username and an argon2id hash.
type LocalAccount struct {
	UserID       string     `db:"user_id"`
	Username     string     `db:"username"`
	PasswordHash string     `db:"password_hash"`
	FailedLogins int        `db:"failed_logins"`
	LockedUntil  *time.Time `db:"locked_until"`
	CreatedAt    time.Time  `db:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at"`
}

const localAccountColumns = `user_id, username, password_hash, failed_logins, locked_until, created_at, updated_at`

// CreateLocalAccount inserts a; ErrConflict if the username is taken.
func (s *Store) CreateLocalAccount(ctx context.Context, a *LocalAccount) error {
	a.CreatedAt = s.now()
	a.UpdatedAt = a.CreatedAt
	_, err := exec(ctx, s.db, `INSERT INTO local_accounts (`+localAccountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.UserID, a.Username, a.PasswordHash, a.FailedLogins, a.LockedUntil, a.CreatedAt, a.UpdatedAt)
	return wrap(err, "create local account")
}

// LocalAccountByUsername returns the local account with that username.
func (s *Store) LocalAccountByUsername(ctx context.Context, username string) (LocalAccount, error) {
	var a LocalAccount
	err := get(ctx, s.db, &a, `SELECT `+localAccountColumns+` FROM local_accounts WHERE username = ?`, username)
	return a, wrap(err, "get local account")
}

// RecordLoginFailure counts a failed password and, when lockAt failures are
// reached, locks the account until lockedUntil and resets the count.
func (s *Store) RecordLoginFailure(ctx context.Context, userID string, lockAt int, lockedUntil time.Time) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := get(ctx, tx, &n, `SELECT failed_logins FROM local_accounts WHERE user_id = ?`, userID); err != nil {
			return err
		}
		n++
		var until *time.Time
		if n >= lockAt {
			t := utc(lockedUntil)
			until, n = &t, 0
		}
		return execOne(ctx, tx, `UPDATE local_accounts SET failed_logins = ?, locked_until = COALESCE(?, locked_until), updated_at = ? WHERE user_id = ?`,
			n, until, s.now(), userID)
	})
	return wrap(err, "record login failure of user %s", userID)
}

// RecordLoginSuccess clears the failure count and any lock.
func (s *Store) RecordLoginSuccess(ctx context.Context, userID string) error {
	err := execOne(ctx, s.db, `UPDATE local_accounts SET failed_logins = 0, locked_until = NULL, updated_at = ? WHERE user_id = ?`,
		s.now(), userID)
	return wrap(err, "record login of user %s", userID)
}

// OAuthAuthRequest is an authorization request in progress. Request is the
// protocol request as JSON (pkg/oauth's business); UserID and AuthTime are
// set once the user consented; CodeHash once a code was issued.
type OAuthAuthRequest struct {
	ID        string     `db:"id"`
	ClientID  string     `db:"client_id"`
	Request   string     `db:"request"`
	Resource  string     `db:"resource"`
	UserID    *string    `db:"user_id"`
	AuthTime  *time.Time `db:"auth_time"`
	CodeHash  []byte     `db:"code_hash"`
	UsedAt    *time.Time `db:"used_at"`
	CreatedAt time.Time  `db:"created_at"`
	ExpiresAt time.Time  `db:"expires_at"`
}

const authRequestColumns = `id, client_id, request, resource, user_id, auth_time, code_hash, used_at, created_at, expires_at`

// CreateOAuthAuthRequest inserts r, setting its ID and creation time.
func (s *Store) CreateOAuthAuthRequest(ctx context.Context, r *OAuthAuthRequest) error {
	r.ID = newID("areq")
	r.CreatedAt = s.now()
	r.ExpiresAt = utc(r.ExpiresAt)
	_, err := exec(ctx, s.db, `INSERT INTO oauth_auth_requests (`+authRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ClientID, r.Request, r.Resource, r.UserID, r.AuthTime, r.CodeHash, r.UsedAt, r.CreatedAt, r.ExpiresAt)
	return wrap(err, "create oauth auth request")
}

// OAuthAuthRequest returns an unexpired, unused auth request by id.
func (s *Store) OAuthAuthRequest(ctx context.Context, id string) (OAuthAuthRequest, error) {
	var r OAuthAuthRequest
	err := get(ctx, s.db, &r, `SELECT `+authRequestColumns+` FROM oauth_auth_requests WHERE id = ? AND used_at IS NULL AND expires_at > ?`, id, s.now())
	return r, wrap(err, "get oauth auth request")
}

// OAuthAuthRequestByCodeHash returns an unexpired auth request by its code,
// used or not: the caller tells a replay by UsedAt.
func (s *Store) OAuthAuthRequestByCodeHash(ctx context.Context, hash []byte) (OAuthAuthRequest, error) {
	var r OAuthAuthRequest
	err := get(ctx, s.db, &r, `SELECT `+authRequestColumns+` FROM oauth_auth_requests WHERE code_hash = ? AND expires_at > ?`, hash, s.now())
	return r, wrap(err, "get oauth auth request by code")
}

// CompleteOAuthAuthRequest records that userID consented at authTime.
func (s *Store) CompleteOAuthAuthRequest(ctx context.Context, id, userID string, authTime time.Time) error {
	err := execOne(ctx, s.db, `UPDATE oauth_auth_requests SET user_id = ?, auth_time = ? WHERE id = ? AND user_id IS NULL`,
		userID, utc(authTime), id)
	return wrap(err, "complete oauth auth request")
}

// SetOAuthCode stores the hash of the code issued for a completed request;
// a request gets one code only, and the code lives until expiresAt.
func (s *Store) SetOAuthCode(ctx context.Context, id string, hash []byte, expiresAt time.Time) error {
	err := execOne(ctx, s.db, `UPDATE oauth_auth_requests SET code_hash = ?, expires_at = ? WHERE id = ? AND code_hash IS NULL AND user_id IS NOT NULL`,
		hash, utc(expiresAt), id)
	return wrap(err, "set oauth code")
}

// UseOAuthAuthRequest marks an auth request's code exchanged; ErrNotFound
// if it was already (a concurrent exchange of the same code loses here).
// The row stays until it expires so that a replay can be recognized.
func (s *Store) UseOAuthAuthRequest(ctx context.Context, id string) error {
	err := execOne(ctx, s.db, `UPDATE oauth_auth_requests SET used_at = ? WHERE id = ? AND used_at IS NULL`, s.now(), id)
	return wrap(err, "use oauth auth request")
}

// DeleteExpiredOAuthAuthRequests deletes auth requests past their expiry.
func (s *Store) DeleteExpiredOAuthAuthRequests(ctx context.Context) (int64, error) {
	n, err := exec(ctx, s.db, `DELETE FROM oauth_auth_requests WHERE expires_at <= ?`, s.now())
	return n, wrap(err, "delete expired oauth auth requests")
}

// Token kinds.
const (
	OAuthAccessToken  = "access"
	OAuthRefreshToken = "refresh"
)

// OAuthToken is an issued access or refresh token. Scopes is a JSON array.
type OAuthToken struct {
	ID        string     `db:"id"`
	Kind      string     `db:"kind"`
	FamilyID  string     `db:"family_id"`
	TokenHash []byte     `db:"token_hash"`
	ClientID  string     `db:"client_id"`
	UserID    string     `db:"user_id"`
	Resource  string     `db:"resource"`
	Scopes    string     `db:"scopes"`
	AuthTime  time.Time  `db:"auth_time"`
	CreatedAt time.Time  `db:"created_at"`
	ExpiresAt time.Time  `db:"expires_at"`
	RotatedAt *time.Time `db:"rotated_at"`
	RevokedAt *time.Time `db:"revoked_at"`
}

const tokenColumns = `id, kind, family_id, token_hash, client_id, user_id, resource, scopes, auth_time, created_at, expires_at, rotated_at, revoked_at`

// CreateOAuthTokens inserts tokens in one transaction and, if rotate is not
// nil, marks that refresh token rotated in the same transaction; it fails
// with ErrNotFound if rotate was rotated or revoked meanwhile.
func (s *Store) CreateOAuthTokens(ctx context.Context, rotate *string, tokens ...*OAuthToken) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		if rotate != nil {
			if err := execOne(ctx, tx, `UPDATE oauth_tokens SET rotated_at = ? WHERE id = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
				now, *rotate); err != nil {
				return err
			}
		}
		for _, t := range tokens {
			if t.ID == "" {
				t.ID = newID("tok")
			}
			t.CreatedAt = now
			t.AuthTime, t.ExpiresAt = utc(t.AuthTime), utc(t.ExpiresAt)
			if _, err := exec(ctx, tx, `INSERT INTO oauth_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.ID, t.Kind, t.FamilyID, t.TokenHash, t.ClientID, t.UserID, t.Resource, t.Scopes, t.AuthTime,
				t.CreatedAt, t.ExpiresAt, t.RotatedAt, t.RevokedAt); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "create oauth tokens")
}

// OAuthToken returns a token by id.
func (s *Store) OAuthToken(ctx context.Context, id string) (OAuthToken, error) {
	var t OAuthToken
	err := get(ctx, s.db, &t, `SELECT `+tokenColumns+` FROM oauth_tokens WHERE id = ?`, id)
	return t, wrap(err, "get oauth token")
}

// OAuthTokenByHash returns a refresh token by the hash of its value.
func (s *Store) OAuthTokenByHash(ctx context.Context, hash []byte) (OAuthToken, error) {
	var t OAuthToken
	err := get(ctx, s.db, &t, `SELECT `+tokenColumns+` FROM oauth_tokens WHERE token_hash = ?`, hash)
	return t, wrap(err, "get oauth token by hash")
}

// RevokeOAuthTokenFamily revokes every token of a grant.
func (s *Store) RevokeOAuthTokenFamily(ctx context.Context, familyID string) error {
	_, err := exec(ctx, s.db, `UPDATE oauth_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, s.now(), familyID)
	return wrap(err, "revoke oauth token family")
}

// RevokeOAuthToken revokes one token.
func (s *Store) RevokeOAuthToken(ctx context.Context, id string) error {
	_, err := exec(ctx, s.db, `UPDATE oauth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, s.now(), id)
	return wrap(err, "revoke oauth token")
}

// OAuthSigningKey is a token signing key, its private key sealed.
type OAuthSigningKey struct {
	ID         string     `db:"id"`
	Algorithm  string     `db:"algorithm"`
	PrivateKey []byte     `db:"private_key"`
	CreatedAt  time.Time  `db:"created_at"`
	RetiredAt  *time.Time `db:"retired_at"`
}

// CreateOAuthSigningKey inserts k. The caller chooses the ID.
func (s *Store) CreateOAuthSigningKey(ctx context.Context, k *OAuthSigningKey) error {
	k.CreatedAt = s.now()
	_, err := exec(ctx, s.db, `INSERT INTO oauth_signing_keys (id, algorithm, private_key, created_at, retired_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PrivateKey, k.CreatedAt, k.RetiredAt)
	return wrap(err, "create oauth signing key")
}

// OAuthSigningKeys returns the signing keys not retired, newest first.
func (s *Store) OAuthSigningKeys(ctx context.Context) ([]OAuthSigningKey, error) {
	out := []OAuthSigningKey{}
	err := selectAll(ctx, s.db, &out, `SELECT id, algorithm, private_key, created_at, retired_at FROM oauth_signing_keys
		WHERE retired_at IS NULL ORDER BY created_at DESC, id`)
	return out, wrap(err, "list oauth signing keys")
}

// HasActiveGrant says whether a user holds a live grant (an unrevoked,
// unexpired refresh token) for a client and resource: the user consented
// before, which is what prompt=none needs.
func (s *Store) HasActiveGrant(ctx context.Context, clientID, userID, resource string) (bool, error) {
	var n int
	err := get(ctx, s.db, &n, `
		SELECT COUNT(*) FROM oauth_tokens
		WHERE kind = 'refresh' AND client_id = ? AND user_id = ? AND resource = ?
		  AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > ?`,
		clientID, userID, resource, s.now())
	return n > 0, wrap(err, "look up grants of user %s", userID)
}

// DeleteExpiredOAuthTokens deletes tokens that expired before cutoff.
func (s *Store) DeleteExpiredOAuthTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := exec(ctx, s.db, `DELETE FROM oauth_tokens WHERE expires_at <= ?`, utc(cutoff))
	return n, wrap(err, "delete expired oauth tokens")
}

// RetireOAuthSigningKey takes a signing key out of use and out of the JWKS.
func (s *Store) RetireOAuthSigningKey(ctx context.Context, id string, at time.Time) error {
	err := execOne(ctx, s.db, `UPDATE oauth_signing_keys SET retired_at = ? WHERE id = ? AND retired_at IS NULL`, utc(at), id)
	return wrap(err, "retire oauth signing key %s", id)
}
