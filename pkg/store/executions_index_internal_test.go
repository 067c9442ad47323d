package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestExecutionsOneIndexMigration: migration 14 leaves SQLite's executions
// table one index, executions_customer_server, instead of two, and every
// shape of ListExecutions' query searches it (no table scan, and no sort
// with a server named), listing the same rows as before.
func TestExecutionsOneIndexMigration(t *testing.T) {
	ctx := t.Context()
	s := sqliteMigratedTo(t, 13)
	var es []*Execution
	for i := range 12 {
		es = append(es, &Execution{CustomerID: fmt.Sprintf("cus_%d", i%2), ServerID: fmt.Sprintf("srv_%d", i%4),
			ToolName: "echo", ModuleHash: "h", Actor: "key:k", Outcome: "ok", Duration: time.Millisecond})
	}
	if err := s.RecordExecutions(ctx, es); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var indexes []string
	if err := selectAll(ctx, s.db, &indexes, `SELECT name FROM sqlite_master
		WHERE type = 'index' AND tbl_name = 'executions' ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(indexes, []string{"executions_customer_server"}) {
		t.Fatalf("the executions table's indexes are %q, want executions_customer_server alone", indexes)
	}
	for _, f := range []ExecutionFilter{
		{CustomerID: "cus_1"},
		{CustomerID: "cus_1", Before: es[7].ID},
		{CustomerID: "cus_1", ServerID: "srv_1"},
		{CustomerID: "cus_1", ServerID: "srv_3", ToolName: "echo", Before: es[7].ID},
	} {
		plan := queryPlan(t, s, f)
		if !strings.Contains(plan, "INDEX executions_customer_server (customer_id=?") || strings.Contains(plan, "SCAN") ||
			(f.ServerID != "" && strings.Contains(plan, "TEMP B-TREE")) {
			t.Errorf("%+v: the plan is %q", f, plan)
		}
		got, err := s.ListExecutions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids, want []int64
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		for i := len(es) - 1; i >= 0; i-- {
			e := es[i]
			if e.CustomerID == f.CustomerID && (f.ServerID == "" || e.ServerID == f.ServerID) &&
				(f.Before == 0 || e.ID < f.Before) {
				want = append(want, e.ID)
			}
		}
		if !slices.Equal(ids, want) {
			t.Errorf("%+v: listed %v, want %v", f, ids, want)
		}
	}
}

// queryPlan is SQLite's plan for ListExecutions' query with f, its steps'
// details joined by "; ".
func queryPlan(t *testing.T, s *Store, f ExecutionFilter) string {
	t.Helper()
	query, args := listExecutionsQuery(f)
	rows, err := s.db.QueryxContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "; ")
}
