package store

import (
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/schema"
)

// TestExecutionsRowidMigration: migration 13 rebuilds SQLite's executions
// table without AUTOINCREMENT keeping every row, id and column, and ids go
// on growing from the largest; the log's connection, which prepared its
// INSERT on the old table, writes on into the new one.
func TestExecutionsRowidMigration(t *testing.T) {
	ctx := t.Context()
	s := sqliteMigratedTo(t, 12)
	row := func(outcome string) *Execution {
		return &Execution{CustomerID: "cus_1", ServerID: "srv_1", ToolName: "echo", ModuleHash: "h", Actor: "key:k",
			Outcome: outcome, FuelUsed: 7, MemoryPeak: 8, Duration: time.Millisecond, Arguments: JSON(`{"a":1}`),
			Result: JSON(`{"r":2}`), Logs: JSON(`[]`), Detail: "d", Recording: JSON(`{"clock":[]}`)}
	}
	old := []*Execution{row("ok"), row("tool_error"), row("ok")}
	if err := s.RecordExecutions(ctx, old); err != nil {
		t.Fatal(err)
	}
	migrateTo(t, s, 13)
	var ddl string
	if err := get(ctx, s.db, &ddl, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'executions'`); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToUpper(ddl), "AUTOINCREMENT") {
		t.Fatalf("executions still has AUTOINCREMENT: %s", ddl)
	}
	for _, e := range old {
		got, err := s.Execution(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Outcome != e.Outcome || got.FuelUsed != 7 || got.MemoryPeak != 8 || got.Duration != time.Millisecond ||
			string(got.Arguments) != `{"a":1}` || string(got.Result) != `{"r":2}` || string(got.Logs) != `[]` ||
			got.Detail != "d" || string(got.Recording) != `{"clock":[]}` || !got.StartedAt.Equal(e.StartedAt) {
			t.Fatalf("row %d after the migration: %+v, want %+v", e.ID, got, e)
		}
	}
	next := []*Execution{row("ok")}
	if err := s.RecordExecutions(ctx, next); err != nil {
		t.Fatal(err)
	}
	if next[0].ID != old[2].ID+1 {
		t.Fatalf("the next id is %d, want %d", next[0].ID, old[2].ID+1)
	}
	var indexes int
	if err := get(ctx, s.db, &indexes, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions'
		AND name IN ('executions_customer', 'executions_server')`); err != nil || indexes != 2 {
		t.Fatalf("%d of the 2 indexes, %v", indexes, err)
	}
}

// sqliteMigratedTo opens a SQLite store in a new directory, closed when
// the test ends, with its migrations applied up to version last.
func sqliteMigratedTo(t *testing.T, last int) *Store {
	t.Helper()
	s, err := Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	migrateTo(t, s, last)
	return s
}

// migrateTo applies s's migrations up to version last.
func migrateTo(t *testing.T, s *Store, last int) {
	t.Helper()
	all, err := schema.Migrations(s.dialect)
	if err != nil {
		t.Fatal(err)
	}
	var upTo []schema.Migration
	for _, m := range all {
		if m.Version <= last {
			upTo = append(upTo, m)
		}
	}
	conn, err := s.pool.Connx(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := s.migrate(t.Context(), conn, upTo); err != nil {
		t.Fatal(err)
	}
}
