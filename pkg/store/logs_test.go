package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestExecutions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		start := time.Now().Add(-time.Hour)
		var ids []int64
		for i, outcome := range []string{"ok", "fuel_exhausted", "ok"} {
			e := store.Execution{CustomerID: c.ID, ServerID: srv.ID, ToolName: "forecast", ModuleHash: store.ModuleHash([]byte("m")),
				Actor: "key:key_1", Outcome: outcome, FuelUsed: 1000, MemoryPeak: 1 << 20, Duration: 3 * time.Millisecond,
				StartedAt: start.Add(time.Duration(i) * time.Minute)}
			if i == 0 {
				e.Arguments, e.Result = store.JSON(`{"city":"Oslo"}`), store.JSON(`{"content":[]}`)
				e.Logs, e.Detail = store.JSON(`[{"level":"info","message":"fetching"}]`), "the module exited with status 2"
			}
			if err := s.RecordExecution(ctx, &e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		if ids[0] >= ids[1] || ids[1] >= ids[2] {
			t.Fatalf("ids not increasing: %v", ids)
		}
		list, err := s.ListExecutions(ctx, store.ExecutionFilter{CustomerID: c.ID, ServerID: srv.ID})
		if err != nil || len(list) != 3 || list[0].ID != ids[2] {
			t.Fatalf("list %+v, %v", list, err)
		}
		first := list[2]
		if first.Duration != 3*time.Millisecond || first.Outcome != "ok" || !sameJSON(t, first.Arguments, `{"city":"Oslo"}`) ||
			!first.StartedAt.Equal(start.Truncate(time.Microsecond)) ||
			!sameJSON(t, first.Logs, `[{"level":"info","message":"fetching"}]`) || first.Detail != "the module exited with status 2" {
			t.Fatalf("first %+v", first)
		}
		if list[0].Arguments != nil || list[0].Result != nil {
			t.Fatalf("absent arguments came back as %q / %q", list[0].Arguments, list[0].Result)
		}
		page, err := s.ListExecutions(ctx, store.ExecutionFilter{CustomerID: c.ID, Before: ids[2], Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != ids[1] {
			t.Fatalf("page %+v, %v", page, err)
		}
		n, err := s.CountExecutionsSince(ctx, c.ID, start.Add(30*time.Second))
		if err != nil || n != 2 {
			t.Fatalf("counted %d, %v", n, err)
		}
		// The log outlives the server.
		if err := s.DeleteServer(ctx, c.ID, srv.ID); err != nil {
			t.Fatal(err)
		}
		if list, err := s.ListExecutions(ctx, store.ExecutionFilter{CustomerID: c.ID}); err != nil || len(list) != 3 {
			t.Fatalf("after deleting the server %d, %v", len(list), err)
		}
	})
}

// TestRecordExecutions: a batch is written in one transaction, all or
// none, each row getting its id.
func TestRecordExecutions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		row := func(outcome string) *store.Execution {
			return &store.Execution{CustomerID: c.ID, ServerID: "srv_batch", ToolName: "echo", ModuleHash: store.ModuleHash([]byte("m")),
				Actor: "key:key_1", Outcome: outcome}
		}
		batch := []*store.Execution{row("ok"), row("tool_error"), row("ok")}
		if err := s.RecordExecutions(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if batch[0].ID == 0 || batch[0].ID >= batch[1].ID || batch[1].ID >= batch[2].ID || batch[0].StartedAt.IsZero() {
			t.Fatalf("batch rows %+v %+v %+v", batch[0], batch[1], batch[2])
		}
		// The empty outcome breaks a CHECK: the whole batch is refused.
		if err := s.RecordExecutions(ctx, []*store.Execution{row("ok"), row("")}); err == nil {
			t.Fatal("a batch with a bad row was written")
		}
		list, err := s.ListExecutions(ctx, store.ExecutionFilter{CustomerID: c.ID})
		if err != nil || len(list) != 3 || list[0].ID != batch[2].ID {
			t.Fatalf("list %+v, %v", list, err)
		}
		if err := s.RecordExecutions(ctx, nil); err != nil {
			t.Fatalf("empty batch: %v", err)
		}
		// After a refused batch the log writes on (on SQLite, its own
		// connection rolled back and stayed usable).
		again := []*store.Execution{row("ok")}
		if err := s.RecordExecutions(ctx, again); err != nil || again[0].ID <= batch[2].ID {
			t.Fatalf("after a refused batch: id %d, %v", again[0].ID, err)
		}
		if n := len(listAll(t, s, c.ID)); n != 4 {
			t.Fatalf("%d rows, want 4", n)
		}
	})
}

// TestRecordExecutionsContext: a batch whose context has ended is not
// written; on a Store bound to a transaction the batch is part of it.
func TestRecordExecutionsContext(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := customer(t, s)
		row := &store.Execution{CustomerID: c.ID, ServerID: "srv_batch", ToolName: "echo", ModuleHash: store.ModuleHash([]byte("m")),
			Actor: "key:key_1", Outcome: "ok"}
		ended, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.RecordExecutions(ended, []*store.Execution{row}); !errors.Is(err, context.Canceled) {
			t.Fatalf("with an ended context: %v", err)
		}
		err := s.InTx(t.Context(), func(tx *store.Store) error {
			if err := tx.RecordExecutions(t.Context(), []*store.Execution{row}); err != nil {
				t.Fatal(err)
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		if n := len(listAll(t, s, c.ID)); n != 0 {
			t.Fatalf("%d rows after a cancelled write and a rolled back one, want 0", n)
		}
		err = s.InTx(t.Context(), func(tx *store.Store) error {
			return tx.RecordExecutions(t.Context(), []*store.Execution{row})
		})
		if n := len(listAll(t, s, c.ID)); err != nil || n != 1 {
			t.Fatalf("%d rows after a committed write, want 1: %v", n, err)
		}
	})
}

// TestRecordExecutionsAfterClose: a closed store refuses the write with an
// error.
func TestRecordExecutionsAfterClose(t *testing.T) {
	s, err := store.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	row := &store.Execution{CustomerID: "cus_1", ServerID: "srv_1", ToolName: "echo", Actor: "key:key_1", Outcome: "ok"}
	if err := s.RecordExecutions(t.Context(), []*store.Execution{row}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordExecutions(t.Context(), []*store.Execution{row}); err == nil {
		t.Fatal("a closed store wrote an execution")
	}
}

func listAll(t *testing.T, s *store.Store, customerID string) []store.Execution {
	t.Helper()
	list, err := s.ListExecutions(t.Context(), store.ExecutionFilter{CustomerID: customerID})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestAuditLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		entries := []store.AuditEntry{
			{Actor: "operator", CustomerID: &c.ID, Action: store.ActionTierChange, Target: "customer:" + c.ID,
				Details: store.JSON(`{"from":"free","to":"pro"}`)},
			{Actor: "user:usr_1", CustomerID: &c.ID, Action: store.ActionWizardGenerate},
			{Actor: "operator", Action: store.ActionLibraryUpload, Target: "library:http-fetch@1.0.0"},
		}
		for i := range entries {
			if err := s.RecordAudit(ctx, &entries[i]); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.ListAudit(ctx, store.AuditFilter{})
		if err != nil || len(all) != 3 || all[0].Action != store.ActionLibraryUpload || all[0].CustomerID != nil {
			t.Fatalf("all %+v, %v", all, err)
		}
		if string(all[1].Details) != "{}" {
			t.Fatalf("default details %q", all[1].Details)
		}
		mine, err := s.ListAudit(ctx, store.AuditFilter{CustomerID: c.ID, Action: store.ActionTierChange})
		if err != nil || len(mine) != 1 || mine[0].Target != "customer:"+c.ID {
			t.Fatalf("filtered %+v, %v", mine, err)
		}
		byOperator, err := s.ListAudit(ctx, store.AuditFilter{Actor: "operator", Before: all[0].ID})
		if err != nil || len(byOperator) != 1 || byOperator[0].ID != entries[0].ID {
			t.Fatalf("by operator %+v, %v", byOperator, err)
		}
		n, err := s.CountAuditSince(ctx, c.ID, store.ActionWizardGenerate, time.Now().Add(-time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("generations %d, %v", n, err)
		}
		bad := store.AuditEntry{Actor: "operator", Action: "x", Details: store.JSON(`{oops`)}
		if err := s.RecordAudit(ctx, &bad); err == nil {
			t.Fatal("invalid details were stored")
		}
	})
}

// TestExecutionRecording: an execution's recording is written with it and
// read back by id only; an unknown id is ErrNotFound.
func TestExecutionRecording(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		e := store.Execution{CustomerID: c.ID, ServerID: srv.ID, ToolName: "forecast", ModuleHash: store.ModuleHash([]byte("m")),
			Actor: "key:key_1", Outcome: "ok", Recording: store.JSON(`{"reads":[{"kind":"nanotime","time":5}]}`)}
		if err := s.RecordExecution(ctx, &e); err != nil {
			t.Fatal(err)
		}
		got, err := s.Execution(ctx, e.ID)
		if err != nil || got.ToolName != "forecast" || !sameJSON(t, got.Recording, `{"reads":[{"kind":"nanotime","time":5}]}`) {
			t.Fatalf("execution %+v, %v", got, err)
		}
		if list, err := s.ListExecutions(ctx, store.ExecutionFilter{CustomerID: c.ID}); err != nil || len(list) != 1 || list[0].Recording != nil {
			t.Fatalf("a list carried the recording: %+v, %v", list, err)
		}
		if _, err := s.Execution(ctx, e.ID+1000); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
}
