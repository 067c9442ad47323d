// Package store is Kiln's data layer: one file per entity, the SQL for each
// operation written out next to the Go that runs it, on PostgreSQL (lib/pq)
// or an embedded SQLite file (modernc.org/sqlite, no cgo).
//
// Queries are written once with ? placeholders and rebound for the dialect
// (sqlx.Rebind); where the dialects differ (row locks, migrations bookkeeping)
// the difference is spelled out where it happens. Every method takes a
// context. Errors start with "store: " and wrap ErrNotFound or ErrConflict
// where a caller has to tell those apart; test them with errors.Is.
//
// The store does no authorization and holds no plaintext secrets: callers
// scope reads by customer, and env values arrive sealed by pkg/secrets.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // registers the "postgres" driver
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/kilnhq/kiln/schema"
)

// SQLiteFile is the name of the embedded database inside the data directory.
const SQLiteFile = "kiln.db"

// sqliteBusyTimeout is how long a SQLite statement waits for another
// connection's write lock before failing with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// Store is a handle on Kiln's database. It is safe for concurrent use.
//
// A Store given to the function of InTx is bound to one transaction: every
// method runs in it, and it must not be used once the function returned.
type Store struct {
	// pool holds the connections: Close, Ping, Migrate and new
	// transactions use it.
	pool *sqlx.DB
	// db is where queries run: pool, or tx on a Store bound to a
	// transaction.
	db      sqlx.ExtContext
	tx      *sqlx.Tx
	dialect schema.Dialect
	clock   func() time.Time
	// url and pgSchema, on PostgreSQL, are where Listen connects and the
	// schema that names notification channels (notify.go).
	url, pgSchema string
	// local delivers notifications within the process on SQLite; every
	// Store made from one Open shares it (localbus.go).
	local *localBus
	// afterCommit, on a Store bound to a transaction by InTx, collects
	// what must run once it commits (SQLite notifications).
	afterCommit *[]func()
	// prepared are statements prepared once, shared by every Store made
	// from one Open (prepared.go).
	prepared *preparedStmts
	// log, on SQLite, writes the execution log through a connection of
	// its own (execlog_sqlite.go), shared like prepared.
	log *sqliteLog
	// journal, on SQLite, holds the rows of JournalExecutions until they
	// are in the table (execjournal.go), shared like log.
	journal *execJournal
	// syncExecutions: PostgreSQL's execution rows commit synchronously
	// (SyncExecutions).
	syncExecutions bool
}

// Open connects to the database. An empty databaseURL means the SQLite file
// kiln.db in dataDir (created, with the directory, if missing); a
// postgres:// or postgresql:// URL means PostgreSQL. Open checks that the
// database answers but does not migrate it: call Migrate.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	var (
		driver, dsn string
		dialect     schema.Dialect
		log         *sqliteLog
		journalPath string
	)
	switch {
	case databaseURL == "":
		if dataDir == "" {
			return nil, errors.New("store: no database URL and no data directory for the SQLite file")
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
		path := filepath.Join(dataDir, SQLiteFile)
		var err error
		if dsn, err = sqliteDSN(path, sqliteBusyTimeout); err != nil {
			return nil, err
		}
		logDSN, err := sqliteDSN(path, sqliteLogBusyTimeout)
		if err != nil {
			return nil, err
		}
		log = &sqliteLog{dsn: logDSN}
		journalPath = path + journalSuffix
		driver, dialect = "sqlite", schema.SQLite
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		// url.Parse's error quotes the URL, password and all: check it
		// here and say less.
		if _, err := url.Parse(databaseURL); err != nil {
			return nil, errors.New("store: the database URL is not a valid URL")
		}
		driver, dsn, dialect = "postgres", databaseURL, schema.Postgres
	default:
		// The URL may hold a password: name only its scheme.
		scheme, _, _ := strings.Cut(databaseURL, ":")
		return nil, fmt.Errorf("store: unsupported database URL scheme %q: use postgres:// or leave it empty for SQLite", scheme)
	}

	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: connect to %s: %w", dialect, err), db.Close())
	}
	s := &Store{pool: db, db: db, dialect: dialect, clock: time.Now, url: databaseURL, local: newLocalBus(), prepared: &preparedStmts{}, log: log}
	if log != nil {
		s.journal = newExecJournal(journalPath, log, s.now)
		if err := log.open(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("store: %w", err), log.close(), db.Close())
		}
	}
	if dialect == schema.Postgres {
		if err := db.GetContext(ctx, &s.pgSchema, `SELECT current_schema()`); err != nil {
			return nil, errors.Join(fmt.Errorf("store: read the current schema: %w", err), db.Close())
		}
	}
	return s, nil
}

// sqliteDSN builds the modernc.org/sqlite data source for path, whose
// connections wait up to busy for another's write lock. Each pragma
// is applied to every new connection of the pool, which matters for
// foreign_keys: SQLite forgets it per connection. _txlock=immediate makes
// every transaction take the write lock when it begins, so a transaction that
// reads and then writes waits for the busy timeout instead of failing with
// SQLITE_BUSY halfway. synchronous=NORMAL is the usual WAL setting: a power
// cut may lose the last commits but cannot corrupt the file. Times are
// written in UTC in a format that sorts.
func sqliteDSN(path string, busy time.Duration) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("store: resolve SQLite path: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	q.Set("_timezone", "UTC")
	// The file: form lets the path hold characters such as '?' (escaped).
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode(), nil
}

// errBoundToTx is the error of the methods a Store bound to a transaction
// must not run: they act on the pool, not on one transaction.
var errBoundToTx = errors.New("the store is bound to a transaction (InTx): use the store it was made from")

// Close closes every connection.
func (s *Store) Close() error {
	if s.tx != nil {
		return fmt.Errorf("store: close: %w", errBoundToTx)
	}
	var logErr error
	if s.journal != nil {
		logErr = s.journal.close()
	}
	if s.log != nil {
		logErr = errors.Join(logErr, s.log.close())
	}
	if err := errors.Join(logErr, s.prepared.close(), s.pool.Close()); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Dialect says which database the store talks to.
func (s *Store) Dialect() schema.Dialect { return s.dialect }

// Ping checks that the database answers, for health checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// WithClock returns a Store on the same connections that reads the time
// from now. Every time the store writes (created_at, expiries) and every
// time it compares rows against (expires_at > now) comes from this clock, so
// the packages that compare their own times with stored ones (sessions,
// OAuth, API keys) must read the same one: cmd/kiln passes one clock to the
// store and to each of them, and tests move it forward for all at once.
// Closing either Store closes the shared connections.
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.clock = now
	return &c
}

// Now is the store's clock: UTC, truncated to the microsecond PostgreSQL
// keeps, so a time read back equals the time written on both dialects.
// Packages given a Store and no clock of their own use this one.
func (s *Store) Now() time.Time { return utc(s.clock()) }

// now is Now, for the store's own queries.
func (s *Store) now() time.Time { return s.Now() }

// utc normalizes a time given by a caller the way now does.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// newID returns a random identifier such as "srv_" + 26 base32 characters
// (130 bits): ids are made here, not by the database, so both dialects
// create rows the same way and ids reveal nothing about counts.
func newID(prefix string) string {
	return prefix + "_" + strings.ToLower(rand.Text())
}

// forUpdate is the row-lock suffix of a SELECT inside a transaction. SQLite
// has no row locks and needs none: with _txlock=immediate the transaction
// already holds the database's write lock.
func (s *Store) forUpdate() string {
	if s.dialect == schema.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// InTx runs fn in one transaction, committing when fn returns nil and
// rolling back when it returns an error (returned as is) or panics. The
// Store fn receives is bound to the transaction: every method called on it,
// including ones that use a transaction of their own (CreateServer, say),
// runs in that one transaction. On a Store already bound to a transaction
// InTx runs fn in it, and the outermost InTx commits or rolls back.
//
// Inside fn use only tx, never the Store InTx was called on, nor anything
// holding it: on SQLite the transaction holds the database's write lock
// (_txlock=immediate), so a write through another connection waits for the
// busy timeout and fails; on PostgreSQL it may wait forever on a row the
// transaction locked. Keep fn short: no builds, compiles or network calls,
// and do what must follow the commit (notifying other nodes, say) after
// InTx returns. A store error inside fn should end fn: on PostgreSQL a
// failed statement aborts the whole transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	var after []func()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.tx == tx {
			return fn(s)
		}
		bound := *s
		bound.db, bound.tx, bound.afterCommit = tx, tx, &after
		return fn(&bound)
	})
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

// inTx runs fn in a transaction, committing when it returns nil. On a Store
// bound to a transaction it runs fn in that one.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	tx, err := s.pool.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	returned := false
	defer func() {
		// fn panicked: a transaction left open would keep its connection,
		// and on SQLite the write lock, for good. The panic goes on; its
		// rollback error would only hide it.
		if !returned {
			_ = tx.Rollback()
		}
	}()
	err = fn(tx)
	returned = true
	if err != nil {
		if rerr := rollback(tx); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", classify(err))
	}
	return nil
}

// rollback ends a failed transaction. sql.ErrTxDone means database/sql has
// rolled it back already (its context ended), which is what was wanted.
func rollback(tx *sqlx.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("store: rollback: %w", err)
	}
	return nil
}

// The helpers below rebind ? placeholders for the dialect, so the SQL in the
// entity files is written once. q is the database or a transaction.

func get(ctx context.Context, q sqlx.ExtContext, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, q, dest, q.Rebind(query), args...)
}

func selectAll(ctx context.Context, q sqlx.ExtContext, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, q, dest, q.Rebind(query), args...)
}

func exec(ctx context.Context, q sqlx.ExtContext, query string, args ...any) (int64, error) {
	res, err := q.ExecContext(ctx, q.Rebind(query), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// execOne runs a statement that must change exactly one row; none means the
// row does not exist.
func execOne(ctx context.Context, q sqlx.ExtContext, query string, args ...any) error {
	n, err := exec(ctx, q, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
