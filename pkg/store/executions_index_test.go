package store_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestExecutionsIndexesPostgres: migration 14 leaves PostgreSQL's two
// execution-log indexes as they were (it merges SQLite's only), and a
// customer's server's newest rows are read from executions_server in order
// (no sort). SQLite's side is TestExecutionsOneIndexMigration.
func TestExecutionsIndexesPostgres(t *testing.T) {
	u, ok := storetest.PostgresURL(t)
	if !ok {
		t.Skip(storetest.EnvURL + " is not set")
	}
	ctx := t.Context()
	storetest.Open(t, u, "") // migrates the schema
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// One connection, so that the SET holds for the EXPLAIN.
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, `SELECT indexname FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'executions' ORDER BY indexname`)
	if err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if err := errorsOf(rows); err != nil {
		t.Fatal(err)
	}
	if want := []string{"executions_customer", "executions_pkey", "executions_server"}; !slices.Equal(indexes, want) {
		t.Fatalf("the executions table's indexes are %q, want %q", indexes, want)
	}
	// An empty table is read faster whole: the planner must be told not to.
	if _, err := db.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	var plan []string
	rows, err = db.QueryContext(ctx, `EXPLAIN SELECT id FROM executions
		WHERE customer_id = 'cus_1' AND server_id = 'srv_1' AND id < 100 ORDER BY id DESC LIMIT 500`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := errorsOf(rows); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "executions_server") || strings.Contains(text, "Sort") {
		t.Fatalf("the plan of a server's newest rows:\n%s", text)
	}
}

// errorsOf is the error that ended rows, or of closing them.
func errorsOf(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}
