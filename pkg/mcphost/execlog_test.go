package mcphost

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func execRow(customerID, outcome string) *store.Execution {
	return &store.Execution{CustomerID: customerID, ServerID: "srv_log", ToolName: "echo",
		ModuleHash: store.ModuleHash([]byte("m")), Actor: "key:k", Outcome: outcome}
}

func countExecutions(t *testing.T, s *store.Store, customerID string) int {
	t.Helper()
	n, err := s.CountExecutionsSince(context.Background(), customerID, s.Now().AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor yields until cond holds under l's lock.
func waitFor(l *execLog, cond func() bool) {
	for {
		l.mu.Lock()
		ok := cond()
		l.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

// addAll adds the rows from one goroutine each (add returns only once its
// row is committed) and returns a channel closed when all have returned.
func addAll(l *execLog, rows ...*store.Execution) <-chan struct{} {
	var wg sync.WaitGroup
	for _, e := range rows {
		wg.Go(func() { l.add(e) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// TestExecLogAnswersAfterCommit: a call returns only once its row is
// committed, so an answered call is never missing from the log.
func TestExecLogAnswersAfterCommit(t *testing.T) {
	s := storetest.SQLite(t)
	cust := storetest.Customer(t, s, "free")
	gate := make(chan struct{})
	l := newExecLog(func(ctx context.Context, es []*store.Execution) error {
		<-gate
		return s.RecordExecutions(ctx, es)
	}, func(e *store.Execution, err error) { t.Errorf("row not written: %v", err) })
	done := addAll(l, execRow(cust.ID, "ok"))
	waitFor(l, func() bool { return l.writing && len(l.queue) == 0 }) // the writer holds it at the gate
	select {
	case <-done:
		t.Fatal("add returned before its row was written")
	default:
	}
	close(gate)
	<-done
	if n := countExecutions(t, s, cust.ID); n != 1 {
		t.Fatalf("%d rows written, want 1", n)
	}
}

// TestExecLogLoneCallWritesItself: a call that finds no write under way
// writes its row at once, alone; the rows that queue while it writes are
// written together after it, and each call still returns only once its own
// row is committed.
func TestExecLogLoneCallWritesItself(t *testing.T) {
	s := storetest.SQLite(t)
	cust := storetest.Customer(t, s, "free")
	gate := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	var byCaller []bool // whether each batch was written by a caller of add
	l := newExecLog(func(ctx context.Context, es []*store.Execution) error {
		stack := make([]byte, 64<<10)
		stack = stack[:runtime.Stack(stack, false)]
		mu.Lock()
		sizes = append(sizes, len(es))
		byCaller = append(byCaller, strings.Contains(string(stack), "(*execLog).add("))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-gate
		}
		return s.RecordExecutions(ctx, es)
	}, func(e *store.Execution, err error) { t.Errorf("row not written: %v", err) })
	first := addAll(l, execRow(cust.ID, "ok"))
	waitFor(l, func() bool { return l.writing })
	later := addAll(l, execRow(cust.ID, "ok"), execRow(cust.ID, "ok"))
	waitFor(l, func() bool { return len(l.queue) == 2 })
	select {
	case <-first:
		t.Fatal("the first call returned before its row was written")
	case <-later:
		t.Fatal("the later calls returned before their rows were written")
	default:
	}
	close(gate)
	<-first
	<-later
	if err := l.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countExecutions(t, s, cust.ID); n != 3 {
		t.Fatalf("%d rows written, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(sizes, []int{1, 2}) || !slices.Equal(byCaller, []bool{true, false}) {
		t.Fatalf("batches of %v written by their callers: %v; want [1 2], [true false]", sizes, byCaller)
	}
}

// TestExecLogBackpressure: with the store stalled, the queue fills to its
// bound and further calls wait instead of dropping rows; every row is
// written, in shared transactions, once the store moves again.
func TestExecLogBackpressure(t *testing.T) {
	s := storetest.SQLite(t)
	cust := storetest.Customer(t, s, "free")
	gate := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	batches := 0
	l := newExecLog(func(ctx context.Context, es []*store.Execution) error {
		<-gate
		mu.Lock()
		batches++
		mu.Unlock()
		return s.RecordExecutions(ctx, es)
	}, func(e *store.Execution, err error) { t.Errorf("row not written: %v", err) })
	defer once.Do(func() { close(gate) })
	total := maxExecQueue + maxExecBatch + 10
	rows := make([]*store.Execution, total)
	for i := range rows {
		rows[i] = execRow(cust.ID, "ok")
	}
	done := addAll(l, rows...)
	// The writer holds its first batch at the gate; the queue fills to its
	// bound, and the other adders wait with their rows.
	waitFor(l, func() bool { return len(l.queue) == maxExecQueue })
	select {
	case <-done:
		t.Fatal("every row was queued past the bound")
	default:
	}
	once.Do(func() { close(gate) })
	<-done
	if err := l.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countExecutions(t, s, cust.ID); n != total {
		t.Fatalf("%d rows written, want %d", n, total)
	}
	if batches >= total/2 {
		t.Fatalf("%d transactions for %d rows: commits were not shared", batches, total)
	}
}

// TestExecLogByteBound: a batch holds no more than maxExecBatchBytes of
// payload, and a row larger than that goes alone; each call still answers
// only once its own row is committed.
func TestExecLogByteBound(t *testing.T) {
	s := storetest.SQLite(t)
	cust := storetest.Customer(t, s, "free")
	gate := make(chan struct{})
	var mu sync.Mutex
	var batches [][]int // each batch's rows' payload sizes
	l := newExecLog(func(ctx context.Context, es []*store.Execution) error {
		<-gate
		sizes := []int{}
		for _, e := range es {
			sizes = append(sizes, execBytes(e))
		}
		mu.Lock()
		batches = append(batches, sizes)
		mu.Unlock()
		return s.RecordExecutions(ctx, es)
	}, func(e *store.Execution, err error) { t.Errorf("row not written: %v", err) })
	withRecording := func(n int) *store.Execution {
		e := execRow(cust.ID, "ok")
		e.Arguments, e.Result = store.JSON(`{}`), store.JSON(`{}`)
		e.Recording = store.JSON(`"` + strings.Repeat("r", n-2) + `"`)
		return e
	}
	// The first row holds the writer at the gate while the rest queue.
	first := addAll(l, execRow(cust.ID, "ok"))
	waitFor(l, func() bool { return l.writing && len(l.queue) == 0 })
	third := maxExecBatchBytes/3 - 4 // a row's payload: a third of the bound, with the {} of its arguments and result
	rows := []*store.Execution{withRecording(third), withRecording(third), withRecording(third), withRecording(third), withRecording(maxExecBatchBytes + 1)}
	var rest []<-chan struct{}
	for _, e := range rows { // queued in this order
		rest = append(rest, addAll(l, e))
		waitFor(l, func() bool { return len(l.queue) == len(rest) })
	}
	close(gate)
	<-first
	for _, done := range rest {
		<-done
	}
	if n := countExecutions(t, s, cust.ID); n != 1+len(rows) {
		t.Fatalf("%d rows written, want %d", n, 1+len(rows))
	}
	mu.Lock()
	defer mu.Unlock()
	row := third + 4
	want := fmt.Sprint([][]int{{0}, {row, row, row}, {row}, {maxExecBatchBytes + 5}})
	if got := fmt.Sprint(batches); got != want {
		t.Fatalf("batches (payload bytes per row) %s, want %s", got, want)
	}
}

// TestExecLogBadRow: a batch the store refuses is retried row by row, so
// only the bad row is lost (and reported); after close, rows are written
// before add returns.
func TestExecLogBadRow(t *testing.T) {
	s := storetest.SQLite(t)
	cust := storetest.Customer(t, s, "free")
	var mu sync.Mutex
	var failed []*store.Execution
	gate := make(chan struct{})
	l := newExecLog(func(ctx context.Context, es []*store.Execution) error {
		<-gate
		return s.RecordExecutions(ctx, es)
	}, func(e *store.Execution, err error) {
		mu.Lock()
		failed = append(failed, e)
		mu.Unlock()
	})
	first := addAll(l, execRow(cust.ID, "ok"))
	waitFor(l, func() bool { return l.writing && len(l.queue) == 0 }) // the writer waits at the gate with it
	bad := execRow(cust.ID, "")                                       // breaks the outcome CHECK
	rest := addAll(l, execRow(cust.ID, "ok"), bad, execRow(cust.ID, "tool_error"))
	waitFor(l, func() bool { return len(l.queue) == 3 }) // one batch of three
	close(gate)
	<-first
	<-rest
	if err := l.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countExecutions(t, s, cust.ID); n != 3 {
		t.Fatalf("%d rows written, want 3", n)
	}
	if len(failed) != 1 || failed[0] != bad {
		t.Fatalf("failed rows %+v, want the bad one", failed)
	}
	l.add(execRow(cust.ID, "ok"))
	if n := countExecutions(t, s, cust.ID); n != 4 {
		t.Fatalf("after close: %d rows written, want 4", n)
	}
}

// TestExecLogWaitsForTheDatabase: a batch the database was away for is
// written again once it is back, before its calls answer; one it refused
// is not retried.
func TestExecLogWaitsForTheDatabase(t *testing.T) {
	var attempts int
	var written []*store.Execution
	l := newExecLog(func(_ context.Context, es []*store.Execution) error {
		attempts++
		if attempts <= 2 {
			return fmt.Errorf("store: begin: %w", driver.ErrBadConn) // restarting
		}
		written = append(written, es...)
		return nil
	}, func(e *store.Execution, err error) { t.Errorf("row failed: %v", err) })
	l.add(execRow("c", "ok"))
	if attempts != 3 || len(written) != 1 {
		t.Fatalf("attempts %d, written %d", attempts, len(written))
	}

	attempts = 0
	var failed int
	l = newExecLog(func(context.Context, []*store.Execution) error {
		attempts++
		return errors.New("store: a check constraint refused the row")
	}, func(*store.Execution, error) { failed++ })
	l.add(execRow("c", "ok"))
	if attempts != 1 || failed != 1 {
		t.Fatalf("a refused row: attempts %d, failed %d", attempts, failed)
	}
}
