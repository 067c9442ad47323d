package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"
)

// sqliteLog writes the execution log on SQLite through a connection of its
// own, outside the pool, with its statements (BEGIN IMMEDIATE, the INSERT,
// the journal's mark, COMMIT, ROLLBACK) prepared once on it. Every tool
// call writes a row, and measured per row (BenchmarkRecordExecutions) the
// pool's way cost about twice the CPU:
//
//   - database/sql's transactions and modernc.org/sqlite's statements
//     start a goroutine each to watch a cancellable context (the driver to
//     interrupt the statement): four per row, about a fifth of the write.
//     The log's statements run without one; the only wait they can have,
//     for the write lock at BEGIN IMMEDIATE (in WAL mode the INSERT and
//     COMMIT then wait for no one), is bounded by the connection's busy
//     timeout, sqliteLogBusyTimeout, instead, and ctx is checked first.
//   - the driver prepares BEGIN and COMMIT anew for every transaction;
//   - INSERT ... RETURNING goes through a result set where an Exec's last
//     insert id gives the same id.
//
// The connection has a database/sql pool of its own so that holding it
// takes nothing from the main pool (which may be one connection). Open
// connects it; one that failed is closed and replaced on the next write.
// The mutex makes writes take turns: SQLite has one writer at a time
// anyway.
type sqliteLog struct {
	dsn string

	mu     sync.Mutex
	db     *sql.DB
	conn   *sql.Conn // nil after a failure, until the next write
	stmts  logStmts
	closed bool
}

// sqliteLogBusyTimeout bounds the log's wait for another connection's
// write lock: the execution log's attempts are bounded by 5 s (mcphost's
// recordTimeout), after which it retries row by row.
const sqliteLogBusyTimeout = 5 * time.Second

// logStmts are the statements prepared on the log's connection.
type logStmts struct {
	begin, insert, mark, commit, rollback *sql.Stmt
}

// record writes es in one transaction, setting their ids (and StartedAt,
// if zero). All or none are written. A mark above 0 is the journal's last
// sequence number among es, written in the same transaction
// (execjournal.go).
func (l *sqliteLog) record(ctx context.Context, now func() time.Time, es []*Execution, mark uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The statements watch no context (see sqliteLog); the values they
	// need from ctx, none today, would pass through.
	ctx = context.WithoutCancel(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	st, err := l.connect(ctx, true)
	if err != nil {
		return err
	}
	if _, err := st.begin.ExecContext(ctx); err != nil {
		// No transaction began; only a broken connection needs replacing.
		if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
			l.reset()
		}
		return fmt.Errorf("begin: %w", err)
	}
	err = l.insert(ctx, st, now, es)
	if err == nil && mark > 0 {
		err = l.setMark(ctx, mark)
	}
	if err == nil {
		if _, err = st.commit.ExecContext(ctx); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	if err != nil {
		for _, e := range es {
			e.ID = 0
		}
		// A connection that cannot roll back (nor tell that a failed
		// COMMIT ended the transaction already) is not trusted with the
		// next write: the next one opens another.
		if _, rerr := st.rollback.ExecContext(ctx); rerr != nil {
			l.reset()
		}
	}
	return err
}

// insert runs the INSERT of each row in the open transaction.
func (l *sqliteLog) insert(ctx context.Context, st logStmts, now func() time.Time, es []*Execution) error {
	for _, e := range es {
		res, err := st.insert.ExecContext(ctx, executionValues(now, e)...)
		if err != nil {
			return err
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("insert id: %w", err)
		}
	}
	return nil
}

// setMark records the journal's mark in the open transaction. Its
// statement is prepared on first use, as the INSERT is: parsing it again
// for every move cost more CPU than the move's rows (modernc.org/sqlite's
// parser is Go translated from C). l.mu is held.
func (l *sqliteLog) setMark(ctx context.Context, mark uint64) error {
	if l.stmts.mark == nil {
		st, err := l.conn.PrepareContext(ctx, setJournalMarkSQL)
		if err != nil {
			return fmt.Errorf("prepare the execution journal's mark: %w", err)
		}
		l.stmts.mark = st
	}
	if _, err := l.stmts.mark.ExecContext(ctx, int64(mark)); err != nil {
		return fmt.Errorf("set the execution journal's mark: %w", err)
	}
	return nil
}

// setJournalMarkSQL records the last journal record moved into the table.
const setJournalMarkSQL = `INSERT INTO execution_journal (id, moved) VALUES (1, ?)
	ON CONFLICT (id) DO UPDATE SET moved = excluded.moved`

// journalMark is the last journal record moved into the table; 0 for none.
func (l *sqliteLog) journalMark(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.connect(ctx, false); err != nil {
		return 0, err
	}
	var moved int64
	err := l.conn.QueryRowContext(ctx, `SELECT moved FROM execution_journal WHERE id = 1`).Scan(&moved)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the execution journal's mark: %w", err)
	}
	return uint64(moved), nil
}

// open connects the log (Store.Open), so that the first call's row does
// not wait for a connection to open, nor Close for a write that opens one.
func (l *sqliteLog) open(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.connect(ctx, false)
	return err
}

// connect returns the statements on the log's connection, opening it if
// there is none, and preparing the INSERT if asked: Open connects before
// Migrate may have made the table. l.mu is held.
func (l *sqliteLog) connect(ctx context.Context, insert bool) (logStmts, error) {
	if l.closed {
		return logStmts{}, errors.New("the store is closed")
	}
	if l.conn == nil {
		if err := l.dial(ctx); err != nil {
			return logStmts{}, fmt.Errorf("open the execution log's connection: %w", err)
		}
	}
	if insert && l.stmts.insert == nil {
		st, err := l.conn.PrepareContext(ctx, insertExecutionValuesSQL)
		if err != nil {
			return logStmts{}, fmt.Errorf("prepare the execution log's INSERT: %w", err)
		}
		l.stmts.insert = st
	}
	return l.stmts, nil
}

// dial opens the log's connection and prepares the transaction's
// statements on it. l.mu is held.
func (l *sqliteLog) dial(ctx context.Context) error {
	if l.db == nil {
		db, err := sql.Open("sqlite", l.dsn)
		if err != nil {
			return err
		}
		// One connection, closed (not kept idle) when reset lets it go.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(0)
		l.db = db
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	var st logStmts
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{{&st.begin, "BEGIN IMMEDIATE"}, {&st.commit, "COMMIT"}, {&st.rollback, "ROLLBACK"}} {
		if *p.stmt, err = conn.PrepareContext(ctx, p.query); err != nil {
			return errors.Join(fmt.Errorf("prepare %q: %w", p.query, err), closeLogConn(conn, st))
		}
	}
	l.conn, l.stmts = conn, st
	return nil
}

// reset closes the log's connection after a failure; the next write opens
// another. The error of closing a connection already failed is moot.
func (l *sqliteLog) reset() {
	if l.conn != nil {
		_ = closeLogConn(l.conn, l.stmts)
	}
	l.conn, l.stmts = nil, logStmts{}
}

// close closes the log's connection for good (Store.Close).
func (l *sqliteLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var err error
	if l.conn != nil {
		err = closeLogConn(l.conn, l.stmts)
		l.conn, l.stmts = nil, logStmts{}
	}
	if l.db != nil {
		err = errors.Join(err, l.db.Close())
		l.db = nil
	}
	if err != nil {
		return fmt.Errorf("close the execution log's connection: %w", err)
	}
	return nil
}

// closeLogConn closes the statements prepared on conn (those not nil), then
// conn: database/sql closes a connection's statements only with it, and
// conn goes back to the log's own pool of one.
func closeLogConn(conn *sql.Conn, st logStmts) error {
	var err error
	for _, s := range []*sql.Stmt{st.begin, st.insert, st.mark, st.commit, st.rollback} {
		if s != nil {
			err = errors.Join(err, s.Close())
		}
	}
	return errors.Join(err, conn.Close())
}
