package store

import (
	"context"
	"time"
)

// UserSession is a signed-in browser: the cookie's SHA-256 and its user.
type UserSession struct {
	UserID    string    `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// CreateUserSession records a browser session by the hash of its cookie.
func (s *Store) CreateUserSession(ctx context.Context, idHash []byte, userID string, expiresAt time.Time) error {
	_, err := exec(ctx, s.db, `INSERT INTO user_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		idHash, userID, s.now(), utc(expiresAt))
	return wrap(err, "create user session")
}

// SessionByHash returns an unexpired browser session and its user.
func (s *Store) SessionByHash(ctx context.Context, idHash []byte) (UserSession, User, error) {
	var row struct {
		User
		SessionCreatedAt time.Time `db:"session_created_at"`
		SessionExpiresAt time.Time `db:"session_expires_at"`
	}
	err := get(ctx, s.db, &row, `
		SELECT u.id, u.customer_id, u.email, u.display_name, u.role, u.operator, u.created_at, u.updated_at,
		       se.created_at AS session_created_at, se.expires_at AS session_expires_at
		FROM users u JOIN user_sessions se ON se.user_id = u.id
		WHERE se.id_hash = ? AND se.expires_at > ?`, idHash, s.now())
	if err != nil {
		return UserSession{}, User{}, wrap(err, "get browser session")
	}
	return UserSession{UserID: row.ID, CreatedAt: row.SessionCreatedAt, ExpiresAt: row.SessionExpiresAt}, row.User, nil
}

// DeleteUserSession ends a browser session. Ending one that does not exist
// is not an error: signing out twice is the same as once.
func (s *Store) DeleteUserSession(ctx context.Context, idHash []byte) error {
	_, err := exec(ctx, s.db, `DELETE FROM user_sessions WHERE id_hash = ?`, idHash)
	return wrap(err, "delete browser session")
}

// DeleteExpiredUserSessions deletes sessions past their expiry.
func (s *Store) DeleteExpiredUserSessions(ctx context.Context) (int64, error) {
	n, err := exec(ctx, s.db, `DELETE FROM user_sessions WHERE expires_at <= ?`, s.now())
	return n, wrap(err, "delete expired user sessions")
}
