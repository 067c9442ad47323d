package store

import (
	"context"
	"time"
)

// DevLibrary is the one row of the development library's work
// (pkg/devlibrary): who holds it and how far it got. Every node reads it
// for the library page; the node holding the lease writes it.
type DevLibrary struct {
	LeaseToken *string    `db:"lease_token"`
	LeaseUntil *time.Time `db:"lease_until"`
	// Status is the progress document the library page shows.
	Status    JSON      `db:"status"`
	UpdatedAt time.Time `db:"updated_at"`
}

// DevLibrary returns the row; ErrNotFound while no node has started the
// work (always, in production).
func (s *Store) DevLibrary(ctx context.Context) (DevLibrary, error) {
	var d DevLibrary
	err := get(ctx, s.db, &d, `SELECT lease_token, lease_until, status, updated_at FROM dev_library WHERE id = 1`)
	return d, wrap(err, "get the development library's progress")
}

// ClaimDevLibrary takes the work for token until the given time, with
// status as its first progress, if nobody holds it or its holder's lease
// has expired. False means another node holds it: of several nodes that
// start together, one does the work.
func (s *Store) ClaimDevLibrary(ctx context.Context, token string, until time.Time, status JSON) (bool, error) {
	now := s.now()
	n, err := exec(ctx, s.db, `INSERT INTO dev_library (id, lease_token, lease_until, status, updated_at)
		VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, token, utc(until), status, now)
	if err != nil {
		return false, wrap(err, "claim the development library")
	}
	if n == 1 {
		return true, nil
	}
	n, err = exec(ctx, s.db, `UPDATE dev_library SET lease_token = ?, lease_until = ?, status = ?, updated_at = ?
		WHERE id = 1 AND (lease_token IS NULL OR lease_until IS NULL OR lease_until <= ?)`,
		token, utc(until), status, now, now)
	return n == 1, wrap(err, "claim the development library")
}

// SaveDevLibrary writes status and renews the lease to until (nil
// releases it) while token holds the work; ErrNotFound when it no longer
// does (the lease expired and another node took it over).
func (s *Store) SaveDevLibrary(ctx context.Context, token string, until *time.Time, status JSON) error {
	var holder *string
	if until != nil {
		holder = &token
	}
	err := execOne(ctx, s.db, `UPDATE dev_library SET lease_token = ?, lease_until = ?, status = ?, updated_at = ?
		WHERE id = 1 AND lease_token = ?`, holder, utcPtr(until), status, s.now(), token)
	return wrap(err, "save the development library's progress")
}
