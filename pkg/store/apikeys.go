package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// APIKey is a customer's credential for the API. Only the SHA-256 of the key
// is kept (HashAPIKey): a key has enough entropy that a plain hash cannot be
// reversed, and a plain hash can be looked up by index. Prefix, the key's
// first characters, lets people tell their keys apart. A key with a ServerID
// is good for that server only, and with Tools for only those of its tools.
type APIKey struct {
	ID         string     `db:"id"`
	CustomerID string     `db:"customer_id"`
	UserID     *string    `db:"user_id"`
	ServerID   *string    `db:"server_id"`
	Name       string     `db:"name"`
	Prefix     string     `db:"prefix"`
	Hash       []byte     `db:"hash"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  *time.Time `db:"expires_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
	// Tools limits a server key to the tools it names (tools/list shows
	// only those, tools/call refuses the rest); empty: every tool.
	Tools StringList `db:"tools"`
}

// HashAPIKey is how a key is stored and looked up.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// Usable reports whether the key may authenticate a request at now: not
// revoked and not expired.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

const apiKeyColumns = `id, customer_id, user_id, server_id, name, prefix, hash, created_at, expires_at, last_used_at, revoked_at, tools`

// CreateAPIKey inserts k, setting its ID and creation time. k.Hash must be
// HashAPIKey of the key. A ServerID must name a server of the same customer
// (ErrNotFound otherwise).
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	if len(k.Hash) != sha256.Size {
		return fmt.Errorf("store: create API key: hash is %d bytes, want a SHA-256", len(k.Hash))
	}
	k.ID = newID("key")
	k.CreatedAt = s.now()
	if k.ExpiresAt != nil {
		t := utc(*k.ExpiresAt)
		k.ExpiresAt = &t
	}
	if len(k.Tools) > 0 && k.ServerID == nil {
		return fmt.Errorf("store: create API key: only a server key can be limited to tools")
	}
	_, err := exec(ctx, s.db, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.CustomerID, k.UserID, k.ServerID, k.Name, k.Prefix, k.Hash, k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt, k.Tools)
	return wrap(err, "create API key")
}

// APIKeyByHash returns the key with the given hash, revoked or expired ones
// included: check Usable.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	var k APIKey
	err := get(ctx, s.db, &k, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash)
	return k, wrap(err, "get API key by hash")
}

// ListAPIKeys returns a customer's keys, revoked ones included, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, customerID string) ([]APIKey, error) {
	out := []APIKey{}
	err := selectAll(ctx, s.db, &out,
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE customer_id = ? ORDER BY created_at, id`, customerID)
	return out, wrap(err, "list API keys of customer %s", customerID)
}

// RevokeAPIKey revokes one of a customer's keys. Revoking a revoked key
// keeps its first revocation time; an unknown key (or another customer's)
// is ErrNotFound.
// Nodes caching keys hear of it (AccessKey).
func (s *Store) RevokeAPIKey(ctx context.Context, customerID, id string) error {
	return s.changeAccess(ctx, AccessKey, id, func(tx *Store) error {
		err := execOne(ctx, tx.db, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND customer_id = ?`,
			tx.now(), id, customerID)
		return wrap(err, "revoke API key %s", id)
	})
}

// TouchAPIKey records that a key was used.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	err := execOne(ctx, s.db, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, utc(at), id)
	return wrap(err, "touch API key %s", id)
}

// DeleteAPIKey removes one of a customer's keys for good. Nodes caching
// keys hear of it (AccessKey).
func (s *Store) DeleteAPIKey(ctx context.Context, customerID, id string) error {
	return s.changeAccess(ctx, AccessKey, id, func(tx *Store) error {
		err := execOne(ctx, tx.db, `DELETE FROM api_keys WHERE id = ? AND customer_id = ?`, id, customerID)
		return wrap(err, "delete API key %s", id)
	})
}
