package store

import (
	"context"
	"fmt"

	"github.com/kilnhq/kiln/schema"
)

// ErrNotFresh is the error of FirstUser when the store has a user already:
// someone else created the first account. It wraps ErrConflict.
var ErrNotFresh = fmt.Errorf("%w: the instance has an account already", ErrConflict)

// FirstUser runs fn, which creates the first account (customer, user,
// login), in one transaction that no other insert into users can
// interleave with, after checking that no user exists; ErrNotFresh (an
// ErrConflict) when one does. Two concurrent first-account forms would
// otherwise both see an empty table and both create an owner.
//
// On PostgreSQL the transaction takes a SHARE ROW EXCLUSIVE lock on users,
// which conflicts with itself and with every insert, so a second FirstUser
// waits for the first to commit and then sees its user. On SQLite the
// transaction holds the database's write lock from its start
// (_txlock=immediate).
func (s *Store) FirstUser(ctx context.Context, fn func(tx *Store) error) error {
	return s.InTx(ctx, func(tx *Store) error {
		if tx.dialect == schema.Postgres {
			if _, err := exec(ctx, tx.db, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return wrap(err, "lock users for the first account")
			}
		}
		has, err := tx.HasUsers(ctx)
		if err != nil {
			return err
		}
		if has {
			return fmt.Errorf("store: first account: %w", ErrNotFresh)
		}
		return fn(tx)
	})
}
