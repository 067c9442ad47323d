package store_test

import (
	"database/sql"
	"slices"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestExecutionRowsCommitAsynchronously: on PostgreSQL, a Store's own
// writes of execution rows, one row or a batch, run with
// synchronous_commit off, and only they: on the Store's one connection, a
// row written next in a caller's transaction commits synchronously, as the
// caller's transaction does. With SyncExecutions on, every row commits
// synchronously. A trigger records the setting each row was inserted
// under.
func TestExecutionRowsCommitAsynchronously(t *testing.T) {
	u, ok := storetest.PostgresURL(t)
	if !ok {
		t.Skip(storetest.EnvURL + " is not set")
	}
	ctx := t.Context()
	s, synced := storetest.Open(t, u, ""), storetest.Open(t, u, "")
	synced.SyncExecutions(true)
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE seen (id BIGINT GENERATED ALWAYS AS IDENTITY, setting TEXT)`,
		`CREATE FUNCTION record_setting() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO seen (setting) VALUES (current_setting('synchronous_commit'));
			RETURN NEW;
		END $$`,
		`CREATE TRIGGER record_setting AFTER INSERT ON executions FOR EACH ROW EXECUTE FUNCTION record_setting()`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	c := storetest.Customer(t, s, "free")
	row := func() *store.Execution {
		return &store.Execution{CustomerID: c.ID, ServerID: "srv_async", ToolName: "echo", ModuleHash: store.ModuleHash([]byte("m")),
			Actor: "key:key_1", Outcome: "ok", Arguments: store.JSON(`{"text":"hi"}`), Detail: "a detail"}
	}
	inTx := func() {
		t.Helper()
		if err := s.InTx(ctx, func(tx *store.Store) error {
			return tx.RecordExecutions(ctx, []*store.Execution{row()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A row in a caller's transaction (which prepares the INSERT on the
	// pool), then one connection: a setting that outlived its
	// transaction would show on the next row there.
	inTx()
	s.SetPool(store.PoolConfig{MaxOpenConns: 1, MaxIdleConns: 1})
	one := []*store.Execution{row()}
	if err := s.RecordExecutions(ctx, one); err != nil || one[0].ID == 0 {
		t.Fatalf("one row: id %d, %v", one[0].ID, err)
	}
	if err := s.RecordExecutions(ctx, []*store.Execution{row(), row()}); err != nil {
		t.Fatal(err)
	}
	inTx()
	for _, batch := range [][]*store.Execution{{row()}, {row(), row()}} {
		if err := synced.RecordExecutions(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Execution(ctx, one[0].ID)
	if err != nil || string(got.Arguments) != `{"text": "hi"}` || got.Detail != "a detail" {
		t.Fatalf("the row written alone reads back as %+v, %v", got, err)
	}
	var settings []string
	rows, err := db.QueryContext(ctx, `SELECT setting FROM seen ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		settings = append(settings, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"on", "off", "off", "off", "on", "on", "on", "on"}; !slices.Equal(settings, want) {
		t.Fatalf("rows inserted with synchronous_commit %q, want %q (in a caller's transaction, alone, a batch of two, "+
			"in a caller's transaction; then with SyncExecutions, alone and a batch of two)", settings, want)
	}
}
