package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors a caller is expected to tell apart. They come wrapped, with the
// entity and "store: " in front: test with errors.Is.
var (
	// ErrNotFound: the row does not exist, is not the caller's, or names a
	// row that does not exist (a foreign key on insert or update).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change collides with the current state: a unique name
	// or key is taken, a row changed since it was read (its version moved
	// on), or a row is still referenced and cannot be deleted.
	ErrConflict = errors.New("conflict")
)

// classify maps the driver's error for a constraint violation to ErrConflict
// (unique) or ErrNotFound (foreign key), keeping the driver's message, which
// names the constraint but never the values. Other errors pass unchanged.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case isUnique(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case isForeignKey(err):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// wrap prefixes an error with "store: " and what was being done, after
// classify.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), classify(err))
}

func isUnique(err error) bool {
	if pqErr, ok := errors.AsType[*pq.Error](err); ok {
		return pqErr.Code == pqerror.UniqueViolation
	}
	if liteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		return liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isCheck reports a CHECK constraint's refusal (SQLite).
func isCheck(err error) bool {
	liteErr, ok := errors.AsType[*sqlite.Error](err)
	return ok && liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_CHECK
}

func isForeignKey(err error) bool {
	if pqErr, ok := errors.AsType[*pq.Error](err); ok {
		return pqErr.Code == pqerror.ForeignKeyViolation
	}
	if liteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		return liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}
