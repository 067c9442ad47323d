package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kilnhq/kiln/schema"
)

// migrateLockClass is the first key of the PostgreSQL advisory lock that
// serializes migrations ("kiln" in ASCII). The second key is a hash of the
// current schema, so installations in different schemas of one database do
// not wait for each other.
const migrateLockClass = 0x6b696c6e

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at %s NOT NULL
)`

// AppliedMigration is a row of schema_migrations.
type AppliedMigration struct {
	Version   int       `db:"version"`
	Name      string    `db:"name"`
	Checksum  string    `db:"checksum"`
	AppliedAt time.Time `db:"applied_at"`
}

// Migrate applies the migrations of package schema that the database has not
// seen, in version order, each in its own transaction together with its row
// in schema_migrations. It is safe to call from several processes at once:
// on PostgreSQL they queue on an advisory lock, on SQLite on the database's
// write lock, and each migration is applied by whoever gets there first.
//
// Migrate fails if an applied migration's file has changed since (its
// checksum differs): released migrations are never edited. Versions the
// database has but this binary does not know are left alone, so an older
// binary keeps running during a rolling upgrade.
func (s *Store) Migrate(ctx context.Context) error {
	if s.tx != nil {
		return fmt.Errorf("store: migrate: %w", errBoundToTx)
	}
	migrations, err := schema.Migrations(s.dialect)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	// The advisory lock belongs to a database session, so everything runs
	// on one connection taken from the pool.
	conn, err := s.pool.Connx(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: connect: %w", err)
	}
	if s.dialect == schema.Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, migrateLockClass); err != nil {
			return errors.Join(fmt.Errorf("store: migrate: take advisory lock: %w", err), conn.Close())
		}
		err = s.migrate(ctx, conn, migrations)
		return errors.Join(err, unlockAndClose(ctx, conn))
	}
	err = s.migrate(ctx, conn, migrations)
	if cerr := conn.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("store: migrate: release connection: %w", cerr))
	}
	if err == nil && s.journal != nil {
		// Rows a crashed process left in the journal go into the table
		// before this one serves (execjournal.go).
		err = wrap(s.journal.open(ctx), "migrate: the execution journal")
	}
	return err
}

// unlockAndClose releases the advisory lock, even when ctx is already done,
// and returns the connection to the pool. If the unlock fails the connection
// is thrown away instead: closing the session is what releases the lock then.
func unlockAndClose(ctx context.Context, conn *sqlx.Conn) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var released bool
	err := conn.QueryRowxContext(ctx, `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, migrateLockClass).Scan(&released)
	if err == nil && !released {
		err = errors.New("the lock was not held")
	}
	if err != nil {
		// Returning driver.ErrBadConn from Raw makes database/sql close the
		// connection rather than pool it.
		rawErr := conn.Raw(func(any) error { return driver.ErrBadConn })
		if rawErr != nil && !errors.Is(rawErr, driver.ErrBadConn) {
			err = errors.Join(err, rawErr)
		}
		return errors.Join(fmt.Errorf("store: migrate: release advisory lock: %w", err), conn.Close())
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("store: migrate: release connection: %w", err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, conn *sqlx.Conn, migrations []schema.Migration) error {
	timeType := "TIMESTAMP"
	if s.dialect == schema.Postgres {
		timeType = "TIMESTAMPTZ"
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(createMigrationsTable, timeType)); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if err := s.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration unless it is recorded already. The check is inside
// the transaction, so two SQLite processes racing (no advisory lock there)
// cannot both apply it: the second waits for the write lock, then sees the row.
func (s *Store) apply(ctx context.Context, conn *sqlx.Conn, m schema.Migration) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate %04d_%s: begin: %w", m.Version, m.Name, err)
	}
	err = func() error {
		var applied []AppliedMigration
		if err := selectAll(ctx, tx, &applied,
			`SELECT version, name, checksum, applied_at FROM schema_migrations WHERE version = ?`, m.Version); err != nil {
			return err
		}
		if len(applied) > 0 {
			if applied[0].Checksum != m.Checksum() {
				return fmt.Errorf("the applied migration was %04d_%s with checksum %s; this binary's file has %s: released migrations must not be edited",
					applied[0].Version, applied[0].Name, applied[0].Checksum, m.Checksum())
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
			m.Version, m.Name, m.Checksum(), s.now())
		return err
	}()
	if err != nil {
		return errors.Join(fmt.Errorf("store: migrate %04d_%s: %w", m.Version, m.Name, err), rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate %04d_%s: commit: %w", m.Version, m.Name, err)
	}
	return nil
}

// AppliedMigrations lists the migrations recorded in the database, in version
// order; none if the database was never migrated.
func (s *Store) AppliedMigrations(ctx context.Context) ([]AppliedMigration, error) {
	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if s.dialect == schema.Postgres {
		exists = `SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE t IS NOT NULL`
	}
	var n int
	if err := get(ctx, s.db, &n, exists); err != nil {
		return nil, wrap(err, "look for schema_migrations")
	}
	out := []AppliedMigration{}
	if n == 0 {
		return out, nil
	}
	if err := selectAll(ctx, s.db, &out, `SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version`); err != nil {
		return nil, wrap(err, "list applied migrations")
	}
	return out, nil
}
