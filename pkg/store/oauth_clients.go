package store

import (
	"context"
	"fmt"
	"time"
)

// How an OAuth client came to be registered (OAuthClient.Registration).
const (
	// OAuthClientDynamic: by dynamic client registration (RFC 7591), at
	// /oauth/register. Always public.
	OAuthClientDynamic = "dynamic"
	// OAuthClientMetadata: named by a Client ID Metadata Document, its id
	// the document's https URL. Always public.
	OAuthClientMetadata = "metadata"
	// OAuthClientOperator: by an operator, through the operator API; public
	// or confidential (with a secret).
	OAuthClientOperator = "operator"
)

// OAuthClient is a registered OAuth client. RedirectURIs is a JSON array.
// SecretHash is the SHA-256 (HashOAuthSecret) of a confidential client's
// secret, nil for a public client. ExpiresAt is set only for
// OAuthClientMetadata clients: past it, DeleteExpiredOAuthClients removes
// the row once nothing refers to it.
type OAuthClient struct {
	ID           string     `db:"id"`
	Name         string     `db:"name"`
	RedirectURIs string     `db:"redirect_uris"`
	Registration string     `db:"registration"`
	SecretHash   []byte     `db:"secret_hash"`
	CreatedAt    time.Time  `db:"created_at"`
	ExpiresAt    *time.Time `db:"expires_at"`
}

// Confidential says whether the client authenticates with a secret.
func (c OAuthClient) Confidential() bool { return c.SecretHash != nil }

const oauthClientColumns = `id, name, redirect_uris, registration, secret_hash, created_at, expires_at`

// CreateOAuthClient inserts c. The caller chooses the ID; an empty
// Registration is OAuthClientDynamic. ErrConflict if the ID is taken.
func (s *Store) CreateOAuthClient(ctx context.Context, c *OAuthClient) error {
	if c.Registration == "" {
		c.Registration = OAuthClientDynamic
	}
	c.CreatedAt, c.ExpiresAt = s.now(), nil
	_, err := exec(ctx, s.db, `INSERT INTO oauth_clients (`+oauthClientColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
		c.ID, c.Name, c.RedirectURIs, c.Registration, c.SecretHash, c.CreatedAt)
	return wrap(err, "create oauth client")
}

// PutOAuthClient inserts or updates a client whose ID its owner chose (a
// Client ID Metadata Document URL), keeping its creation time. It is always
// public and OAuthClientMetadata; a client of that ID registered otherwise
// is not replaced (ErrConflict). The row is kept at least until keepUntil:
// an existing row's expiry only ever moves later, so one node cannot cut
// short the time another promised.
func (s *Store) PutOAuthClient(ctx context.Context, c *OAuthClient, keepUntil time.Time) error {
	keep := utc(keepUntil)
	c.CreatedAt, c.ExpiresAt = s.now(), &keep
	c.Registration, c.SecretHash = OAuthClientMetadata, nil
	n, err := exec(ctx, s.db, `
		INSERT INTO oauth_clients (`+oauthClientColumns+`) VALUES (?, ?, ?, ?, NULL, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, redirect_uris = excluded.redirect_uris,
			expires_at = CASE WHEN oauth_clients.expires_at > excluded.expires_at
				THEN oauth_clients.expires_at ELSE excluded.expires_at END
		WHERE oauth_clients.registration = excluded.registration`,
		c.ID, c.Name, c.RedirectURIs, c.Registration, c.CreatedAt, keep)
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: the id is taken by a client registered otherwise", ErrConflict)
	}
	return wrap(err, "put oauth client")
}

// DeleteExpiredOAuthClients deletes metadata clients whose expiry is at or
// before cutoff and that no authorization request or token refers to. A
// grant's tokens thus keep its client's row (and the grant working) for as
// long as they exist; clients registered otherwise never expire.
func (s *Store) DeleteExpiredOAuthClients(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := exec(ctx, s.db, `
		DELETE FROM oauth_clients
		WHERE registration = ? AND expires_at <= ?
		  AND NOT EXISTS (SELECT 1 FROM oauth_auth_requests r WHERE r.client_id = oauth_clients.id)
		  AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.client_id = oauth_clients.id)`,
		OAuthClientMetadata, utc(cutoff))
	return n, wrap(err, "delete expired oauth clients")
}

// OAuthClient returns the client with the given id.
func (s *Store) OAuthClient(ctx context.Context, id string) (OAuthClient, error) {
	var c OAuthClient
	err := get(ctx, s.db, &c, `SELECT `+oauthClientColumns+` FROM oauth_clients WHERE id = ?`, id)
	return c, wrap(err, "get oauth client")
}

// OAuthClientFilter selects clients for ListOAuthClients.
type OAuthClientFilter struct {
	// Registration selects clients registered this way (OAuthClientOperator,
	// ...); empty selects all.
	Registration string
	Limit        int // default and maximum MaxPage
}

// ListOAuthClients returns clients, newest first.
func (s *Store) ListOAuthClients(ctx context.Context, f OAuthClientFilter) ([]OAuthClient, error) {
	where, args := "1 = 1", []any{}
	if f.Registration != "" {
		where, args = "registration = ?", append(args, f.Registration)
	}
	out := []OAuthClient{}
	err := selectAll(ctx, s.db, &out, `SELECT `+oauthClientColumns+` FROM oauth_clients WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, pageSize(f.Limit))...)
	return out, wrap(err, "list oauth clients")
}

// DeleteOAuthClient deletes a client and, by cascade, its authorization
// requests and tokens: its access tokens stop verifying and its refresh
// tokens stop refreshing at once. ErrNotFound if there is no such client.
func (s *Store) DeleteOAuthClient(ctx context.Context, id string) error {
	err := execOne(ctx, s.db, `DELETE FROM oauth_clients WHERE id = ?`, id)
	return wrap(err, "delete oauth client %s", id)
}
