package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kilnhq/kiln/schema"
)

// Execution records one tool call: who called which tool of which server,
// the module that ran (by hash), how it ended, and what it cost. Arguments
// and Result are optional copies of the call's JSON. Outcome is the
// sandbox's outcome name (ok, fuel_exhausted, memory_limit, timeout, ...).
type Execution struct {
	ID         int64         `db:"id"`
	CustomerID string        `db:"customer_id"`
	ServerID   string        `db:"server_id"`
	ToolName   string        `db:"tool_name"`
	ModuleHash string        `db:"module_hash"`
	Actor      string        `db:"actor"`
	Outcome    string        `db:"outcome"`
	FuelUsed   int64         `db:"fuel_used"`
	MemoryPeak int64         `db:"memory_peak"`
	Duration   time.Duration `db:"duration_ns"`
	Arguments  JSON          `db:"arguments"`
	Result     JSON          `db:"result"`
	// Logs are the call's log lines (sandbox.Result.Logs and Console),
	// size-capped by the sandbox; Detail is the host's account of a call
	// that did not finish normally.
	Logs      JSON      `db:"logs"`
	Detail    string    `db:"detail"`
	StartedAt time.Time `db:"started_at"`
	// Recording is what the call read from the host, for replaying it
	// (mcphost's replay.go); only with Arguments and Result, and only
	// Execution reads it back (lists leave it out: it can be large).
	Recording JSON `db:"recording"`
}

// ExecutionFilter selects executions for ListExecutions. CustomerID is
// required: the log is read one customer at a time.
type ExecutionFilter struct {
	CustomerID string
	ServerID   string // optional
	ToolName   string // optional
	Before     int64  // optional: only ids below this, to page backwards
	Limit      int    // default and maximum MaxPage
}

// MaxPage is the most rows a List call returns at once.
const MaxPage = 500

const executionColumns = `id, customer_id, server_id, tool_name, module_hash, actor, outcome,
	fuel_used, memory_peak, duration_ns, arguments, result, logs, detail, started_at`

// RecordExecution appends e to the log, setting e.ID (and e.StartedAt, if
// zero, to now).
func (s *Store) RecordExecution(ctx context.Context, e *Execution) error {
	return wrap(s.insertExecution(ctx, s.db, e), "record execution of %s on server %s", e.ToolName, e.ServerID)
}

// RecordExecutions appends es to the log in one transaction, setting each
// one's ID (and StartedAt, if zero): one commit for many calls, which is
// what a busy node's execution log needs. All or none are written. On
// SQLite the write goes through the log's own connection and does not
// watch ctx once begun (execlog_sqlite.go); on a Store bound to a
// transaction it runs in that transaction.
//
// On PostgreSQL, a Store of its own writes the rows with one statement
// (recordRows), committed asynchronously unless SyncExecutions says
// otherwise.
func (s *Store) RecordExecutions(ctx context.Context, es []*Execution) error {
	if len(es) == 0 {
		return nil
	}
	var err error
	switch {
	case s.log != nil && s.tx == nil:
		err = s.log.record(ctx, s.now, es, 0)
	case s.tx == nil && s.dialect == schema.Postgres:
		err = s.recordRows(ctx, es)
	default:
		err = s.recordInTx(ctx, es)
	}
	return wrap(err, "record %d executions", len(es))
}

// JournalExecutions makes es durable and returns: what a tool call's
// answer waits for. On SQLite they go to the node's execution journal with
// one write and reach the table a few milliseconds later; readers in this
// process wait for them, and es's IDs stay unset (execjournal.go). On
// PostgreSQL, on a Store bound to a transaction, and in a process whose
// journal another process holds, it is RecordExecutions.
func (s *Store) JournalExecutions(ctx context.Context, es []*Execution) error {
	if s.journal == nil || s.tx != nil {
		return s.RecordExecutions(ctx, es)
	}
	if len(es) == 0 {
		return nil
	}
	return wrap(s.journal.append(ctx, es, s.now), "journal %d executions", len(es))
}

// journaled waits for the rows this process journaled, so that a read of
// the table sees them. A Store bound to a transaction does not wait: on
// SQLite its transaction holds the write lock the move needs.
func (s *Store) journaled(ctx context.Context) error {
	if s.journal == nil || s.tx != nil {
		return nil
	}
	return wrap(s.journal.wait(ctx), "executions")
}

// SyncExecutions says whether, on PostgreSQL, RecordExecutions waits for
// the server to flush the rows' commit to disk (and to synchronous
// standbys); call it before the Store is used. By default it does not:
// the rows commit asynchronously (synchronous_commit off for their
// statement alone), and the commit returns once they are in the server's
// WAL buffers. Waiting for the flush cost 130–170 µs of every tool call's
// answer here (BenchmarkRecordExecutions/postgres), and more on
// slower disks. An asynchronous row survives a crash of Kiln, as a row in
// SQLite's execution journal does (execjournal.go); it can be lost, with
// the other commits of the last moments (up to three times the server's
// wal_writer_delay, 600 ms by default), when the database server crashes
// or fails over to a standby that had not received them. PostgreSQL's
// documentation suggests asynchronous commits for such event logs; the
// database stays consistent either way. Deployments that must not lose an
// answered call's row across a database crash or failover turn it on
// (--db-sync-execution-log).
func (s *Store) SyncExecutions(on bool) { s.syncExecutions = on }

// recordRows writes es on PostgreSQL with one statement, which commits by
// itself. A row alone (every tool call's row is written before it
// answers, and alone unless calls overlap) is one round trip to the
// server, with a statement prepared once, where BEGIN, INSERT and COMMIT
// took three; more rows are two, where a transaction took one per row and
// three more (BenchmarkRecordExecutions/postgres).
func (s *Store) recordRows(ctx context.Context, es []*Execution) error {
	q := insertExecutionsPostgresSQL(len(es), !s.syncExecutions)
	args := make([]any, 0, len(es)*executionColumnCount)
	for _, e := range es {
		args = append(args, executionValues(s.now, e)...)
	}
	var rows *sql.Rows
	if len(es) == 1 {
		stmt, err := s.prepared.get(ctx, s.pool, q)
		if err != nil {
			return err
		}
		rows, err = stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
	} else {
		var err error
		if rows, err = s.pool.QueryContext(ctx, s.pool.Rebind(q), args...); err != nil {
			return err
		}
	}
	defer rows.Close()
	ids := make([]int64, 0, len(es))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) != len(es) {
		return fmt.Errorf("the insert returned %d ids for %d rows", len(ids), len(es))
	}
	// The rows are inserted in the order of the VALUES list, and the
	// identity column numbers them as they are: the smallest id is the
	// first row's, whatever order RETURNING gives them in.
	slices.Sort(ids)
	for i, e := range es {
		e.ID = ids[i]
	}
	return nil
}

// recordInTx is RecordExecutions through the pool, with the INSERT
// prepared once per Open.
func (s *Store) recordInTx(ctx context.Context, es []*Execution) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		stmt, err := s.prepared.get(ctx, s.pool, insertExecutionSQL)
		if err != nil {
			return err
		}
		in := tx.StmtxContext(ctx, stmt)
		for _, e := range es {
			if err := insertExecutionWith(ctx, in, s.now, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertExecutionValuesSQL inserts one execution row, with the values
// executionValues gives; without RETURNING it is SQLite's log's statement,
// whose id is the Exec's last insert id (execlog_sqlite.go).
const insertExecutionValuesSQL = `
		INSERT INTO executions (customer_id, server_id, tool_name, module_hash, actor, outcome,
			fuel_used, memory_peak, duration_ns, arguments, result, logs, detail, started_at, recording)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertExecutionSQL is in the ? form; prepared statements are rebound
// for the dialect (prepared.get).
const insertExecutionSQL = insertExecutionValuesSQL + `
		RETURNING id`

// insertExecutionsPostgresSQL inserts n execution rows, with the values
// executionValues gives, on PostgreSQL. A VALUES list in FROM does not take
// its types from the INSERT's columns, so each value is cast to its
// column's. Asynchronous, the statement turns synchronous_commit off for
// its own transaction (set_config's true), which PostgreSQL reads when the
// statement commits.
func insertExecutionsPostgresSQL(n int, async bool) string {
	row := "(?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::bigint, ?::bigint, ?::bigint, " +
		"?::jsonb, ?::jsonb, ?::jsonb, ?::text, ?::timestamptz, ?::jsonb)"
	from := ` AS v`
	if async {
		from += `, (SELECT set_config('synchronous_commit', 'off', true)) AS async`
	}
	return `
		INSERT INTO executions (customer_id, server_id, tool_name, module_hash, actor, outcome,
			fuel_used, memory_peak, duration_ns, arguments, result, logs, detail, started_at, recording)
		SELECT v.* FROM (VALUES ` + strings.Repeat(row+", ", n-1) + row + `)` + from + `
		RETURNING id`
}

// executionColumnCount is how many values executionValues gives.
const executionColumnCount = 15

func (s *Store) insertExecution(ctx context.Context, q sqlx.ExtContext, e *Execution) error {
	return insertExecutionWith(ctx, queryRower{q}, s.now, e)
}

// rowQuerier runs insertExecutionSQL: a prepared statement, or a query.
type rowQuerier interface {
	QueryRowxContext(ctx context.Context, args ...any) *sqlx.Row
}

type queryRower struct{ q sqlx.ExtContext }

func (r queryRower) QueryRowxContext(ctx context.Context, args ...any) *sqlx.Row {
	return r.q.QueryRowxContext(ctx, r.q.Rebind(insertExecutionSQL), args...)
}

func insertExecutionWith(ctx context.Context, q rowQuerier, now func() time.Time, e *Execution) error {
	return q.QueryRowxContext(ctx, executionValues(now, e)...).Scan(&e.ID)
}

// executionValues are the values of insertExecutionValuesSQL for e, setting
// e.StartedAt to now if zero, in UTC.
func executionValues(now func() time.Time, e *Execution) []any {
	if e.StartedAt.IsZero() {
		e.StartedAt = now()
	}
	e.StartedAt = utc(e.StartedAt)
	return []any{e.CustomerID, e.ServerID, e.ToolName, e.ModuleHash, e.Actor, e.Outcome,
		e.FuelUsed, e.MemoryPeak, int64(e.Duration), e.Arguments, e.Result, e.Logs, e.Detail, e.StartedAt, e.Recording}
}

// Execution returns one execution by id, with its recording: for an
// operator (kiln replay), so not scoped to a customer. ErrNotFound when
// there is none.
func (s *Store) Execution(ctx context.Context, id int64) (Execution, error) {
	var e Execution
	if err := s.journaled(ctx); err != nil {
		return e, err
	}
	err := get(ctx, s.db, &e, `SELECT `+executionColumns+`, recording FROM executions WHERE id = ?`, id)
	return e, wrap(err, "execution %d", id)
}

// ListExecutions returns a customer's executions, newest first.
func (s *Store) ListExecutions(ctx context.Context, f ExecutionFilter) ([]Execution, error) {
	if err := s.journaled(ctx); err != nil {
		return nil, err
	}
	query, args := listExecutionsQuery(f)
	out := []Execution{}
	err := selectAll(ctx, s.db, &out, query, args...)
	return out, wrap(err, "list executions of customer %s", f.CustomerID)
}

// listExecutionsQuery is ListExecutions' query, in the ? form, and its
// arguments. On SQLite the index executions_customer_server (customer_id,
// server_id, id) serves it: a customer's rows, and a server's newest
// first. On PostgreSQL executions_server (server_id, id) reads a server's
// newest first, and executions_customer (customer_id, started_at) finds a
// customer's rows, which are then sorted by id (schema 0014).
func listExecutionsQuery(f ExecutionFilter) (string, []any) {
	where := []string{"customer_id = ?"}
	args := []any{f.CustomerID}
	if f.ServerID != "" {
		where, args = append(where, "server_id = ?"), append(args, f.ServerID)
	}
	if f.ToolName != "" {
		where, args = append(where, "tool_name = ?"), append(args, f.ToolName)
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	args = append(args, pageSize(f.Limit))
	return `SELECT ` + executionColumns + ` FROM executions
		WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id DESC LIMIT ?`, args
}

// CountExecutionsSince counts a customer's executions that started at or
// after since, for usage limits over a window. On SQLite no index holds
// started_at (the log's one index is the calls' cost: schema 0014), so it
// reads all of the customer's rows: it is for tests and tools, not a
// call's path.
func (s *Store) CountExecutionsSince(ctx context.Context, customerID string, since time.Time) (int, error) {
	var n int
	if err := s.journaled(ctx); err != nil {
		return 0, err
	}
	err := get(ctx, s.db, &n, `SELECT COUNT(*) FROM executions WHERE customer_id = ? AND started_at >= ?`, customerID, utc(since))
	return n, wrap(err, "count executions of customer %s", customerID)
}

func pageSize(limit int) int {
	if limit <= 0 || limit > MaxPage {
		return MaxPage
	}
	return limit
}
