package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// journalRow is an execution as a tool call writes it, with documents.
func journalRow(i int) *Execution {
	return &Execution{CustomerID: "cus_1", ServerID: "srv_1", ToolName: "echo", ModuleHash: "h", Actor: "key:k",
		Outcome: "ok", FuelUsed: int64(i), MemoryPeak: 8, Duration: time.Millisecond, Arguments: JSON(fmt.Sprintf(`{"i":%d}`, i)),
		Result: JSON(`{"r":2}`), Logs: JSON(`[]`), Detail: "d", StartedAt: time.Date(2026, 12, 6, 12, 0, i, 0, time.UTC)}
}

// openJournaled opens and migrates a SQLite store in dir, which then
// journals, closed when the test ends; set changes the journal's settings
// before its mover starts.
func openJournaled(t *testing.T, dir string, set ...func(*execJournal)) *Store {
	t.Helper()
	s, err := Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range set {
		f(s.journal)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// fuelsOf lists the customer's rows by their FuelUsed, oldest first.
func fuelsOf(t *testing.T, s *Store) []int64 {
	t.Helper()
	rows, err := s.ListExecutions(t.Context(), ExecutionFilter{CustomerID: "cus_1"})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for i := len(rows) - 1; i >= 0; i-- {
		out = append(out, rows[i].FuelUsed)
	}
	return out
}

// TestJournalReadsSeeTheRows: rows journaled are read back at once, by
// every reader of the table, with every column as written, and the file is
// empty once they are in the table.
func TestJournalReadsSeeTheRows(t *testing.T) {
	dir := t.TempDir()
	s := openJournaled(t, dir, func(j *execJournal) { j.delay = time.Hour }) // only a reader moves them
	es := []*Execution{journalRow(1), journalRow(2), {CustomerID: "cus_1", ServerID: "srv_1", ToolName: "t", ModuleHash: "h",
		Actor: "a", Outcome: "tool_error", FuelUsed: 3}}
	if err := s.JournalExecutions(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	if es[0].ID != 0 {
		t.Fatalf("a journaled row's id is set to %d before it is in the table", es[0].ID)
	}
	if got := fuelsOf(t, s); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
		t.Fatalf("rows %v, want [1 2 3]", got)
	}
	n, err := s.CountExecutionsSince(t.Context(), "cus_1", time.Time{})
	if err != nil || n != 3 {
		t.Fatalf("count %d, %v", n, err)
	}
	rows, _ := s.ListExecutions(t.Context(), ExecutionFilter{CustomerID: "cus_1"})
	got, err := s.Execution(t.Context(), rows[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *journalRow(1)
	want.ID = got.ID
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v\nwant %+v", got, want)
	}
	if got := rows[0]; got.Arguments != nil || got.Result != nil || got.Logs != nil || got.StartedAt.IsZero() {
		t.Fatalf("a row without documents read back as %+v: NULL must stay NULL, and a start be set", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, SQLiteFile+journalSuffix)); err != nil || fi.Size() != 0 {
		t.Fatalf("the journal holds %v bytes (%v) once its rows are in the table", fi.Size(), err)
	}
}

// TestJournalRefusesWhatTheTableRefuses: a row the table's checks would
// refuse is refused when it is journaled, where the caller hears of it,
// and nothing of its batch is written.
func TestJournalRefusesWhatTheTableRefuses(t *testing.T) {
	s := openJournaled(t, t.TempDir())
	for name, mutate := range map[string]func(*Execution){
		"no outcome":     func(e *Execution) { e.Outcome = "" },
		"negative fuel":  func(e *Execution) { e.FuelUsed = -1 },
		"negative time":  func(e *Execution) { e.Duration = -1 },
		"bad arguments":  func(e *Execution) { e.Arguments = JSON(`{"a":`) },
		"bad recording":  func(e *Execution) { e.Recording = JSON(`nope`) },
		"negative bytes": func(e *Execution) { e.MemoryPeak = -5 },
	} {
		bad := journalRow(9)
		mutate(bad)
		if err := s.JournalExecutions(t.Context(), []*Execution{journalRow(1), bad}); err == nil {
			t.Errorf("%s: journaled", name)
		}
	}
	if got := fuelsOf(t, s); len(got) != 0 {
		t.Fatalf("rows of refused batches were written: %v", got)
	}
}

// TestJournalKeepsARowSQLiteRefuses: a document Go's JSON check takes and
// SQLite's refuses (nesting deeper than SQLite's 1,000 levels) costs the
// row its documents, with a note, not the row: the move never stops on it.
func TestJournalKeepsARowSQLiteRefuses(t *testing.T) {
	s := openJournaled(t, t.TempDir())
	deep := journalRow(2)
	deep.Arguments = JSON(strings.Repeat("[", 1500) + strings.Repeat("]", 1500))
	if err := s.JournalExecutions(t.Context(), []*Execution{journalRow(1), deep, journalRow(3)}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.ListExecutions(t.Context(), ExecutionFilter{CustomerID: "cus_1"})
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	kept := rows[1]
	if kept.FuelUsed != 2 || kept.Arguments != nil || kept.Result != nil || !strings.Contains(kept.Detail, "refused this call's documents") {
		t.Fatalf("the refused row: %+v", kept)
	}
	if rows[0].Arguments == nil || rows[2].Arguments == nil {
		t.Fatal("the rows beside it lost their documents")
	}
}

// TestJournalWaitsForRoom: an append that finds the journal full waits
// until the mover has emptied it, and then goes on; none is lost.
func TestJournalWaitsForRoom(t *testing.T) {
	s := openJournaled(t, t.TempDir(), func(j *execJournal) { j.delay, j.maxBytes = time.Hour, 1000 })
	for i := range 20 {
		if err := s.JournalExecutions(t.Context(), []*Execution{journalRow(i)}); err != nil {
			t.Fatal(err)
		}
		s.journal.mu.Lock()
		size := s.journal.size
		s.journal.mu.Unlock()
		if size > 1000+400 {
			t.Fatalf("the journal grew to %d bytes, past its bound", size)
		}
	}
	if got := fuelsOf(t, s); len(got) != 20 {
		t.Fatalf("%d rows of 20", len(got))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s.journal.mu.Lock()
	s.journal.size = 1 << 30 // full, and the caller gives up
	s.journal.mu.Unlock()
	if err := s.JournalExecutions(ctx, []*Execution{journalRow(1)}); err == nil {
		t.Fatal("an append to a full journal did not end with its context")
	}
}

// TestJournalHeldByAnotherProcess: while one Store holds the journal,
// another on the same file writes its rows to the table itself, and both
// read all of them.
func TestJournalHeldByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	a, b := openJournaled(t, dir), openJournaled(t, dir)
	if a.journal.state != journalOpen || b.journal.state != journalElsewhere {
		t.Fatalf("journal states %v and %v", a.journal.state, b.journal.state)
	}
	if err := a.JournalExecutions(t.Context(), []*Execution{journalRow(1)}); err != nil {
		t.Fatal(err)
	}
	byB := []*Execution{journalRow(2)}
	if err := b.JournalExecutions(t.Context(), byB); err != nil {
		t.Fatal(err)
	}
	if byB[0].ID == 0 {
		t.Fatal("a row written straight to the table has no id")
	}
	if got := fuelsOf(t, a); len(got) != 2 {
		t.Fatalf("rows %v", got)
	}
}

// TestJournalReplayedAfterKill9: a process killed with -9 after
// journaling rows leaves them to the next, which moves them into the table
// exactly once, also when it died between moving rows and emptying the
// file, and ignores a record cut short at the end.
func TestJournalReplayedAfterKill9(t *testing.T) {
	for _, mode := range []string{"journaled", "moved-not-emptied"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			openJournaled(t, dir).Close() // migrated, so the helper is quick
			want := []int64{}
			for round := range 2 { // the second crash follows a replay
				killHelper(t, dir, mode)
				s, err := Open(t.Context(), "", dir)
				if err != nil {
					t.Fatal(err)
				}
				err = s.Migrate(t.Context()) // the replay
				want = append(want, 0, 1, 2, 3, 4)
				got := fuelsOf(t, s)
				if err := errors.Join(err, s.Close()); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("round %d: after the replay the table holds rows %v, want %v (each once)", round, got, want)
				}
			}
		})
	}
}

// killHelper runs TestJournalHelperProcess on dir in mode, kills it with
// -9 once it has journaled its rows, and appends a record cut short, as
// a write the machine stopped in leaves.
func killHelper(t *testing.T, dir, mode string) {
	t.Helper()
	cmd := osexec.Command(os.Args[0], "-test.run=^TestJournalHelperProcess$")
	cmd.Env = append(os.Environ(), "KILN_JOURNAL_HELPER="+mode, "KILN_JOURNAL_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		t.Fatalf("the helper said %q", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	f, err := os.OpenFile(filepath.Join(dir, SQLiteFile+journalSuffix), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn, _ := appendRecord(nil, journaled{seq: 1 << 40, e: *journalRow(99)})
	_, err = f.Write(torn[:len(torn)-3])
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
}

// TestJournalHelperProcess is TestJournalReplayedAfterKill9's process to
// kill: it journals five rows, which its mover never moves, then (in mode
// moved-not-emptied) moves them without emptying the file, says "ready"
// and waits to be killed.
func TestJournalHelperProcess(t *testing.T) {
	mode := os.Getenv("KILN_JOURNAL_HELPER")
	if mode == "" {
		t.Skip("run by TestJournalReplayedAfterKill9")
	}
	s, err := Open(context.Background(), "", os.Getenv("KILN_JOURNAL_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	s.journal.delay = time.Hour
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var es []*Execution
	for i := range 5 {
		es = append(es, journalRow(i))
	}
	if err := s.JournalExecutions(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	if mode == "moved-not-emptied" {
		s.journal.mu.Lock()
		pending := s.journal.pending
		s.journal.mu.Unlock()
		if _, err := s.journal.move(context.Background(), pending); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}

// TestJournalMovesEachRowOnceAfterAFailurePartway: a batch whose row
// SQLite refuses goes row by row; when a later row then fails for another
// reason, the rows before it are in the table and counted, and the next
// move does not insert them again.
func TestJournalMovesEachRowOnceAfterAFailurePartway(t *testing.T) {
	s := openJournaled(t, t.TempDir(), func(j *execJournal) { j.delay = time.Hour })
	if _, err := s.pool.ExecContext(t.Context(), `CREATE TRIGGER refuse_three BEFORE INSERT ON executions
		WHEN NEW.fuel_used = 3 BEGIN SELECT RAISE(ABORT, 'not now'); END`); err != nil {
		t.Fatal(err)
	}
	deep := journalRow(2)
	deep.Arguments = JSON(strings.Repeat("[", 1500) + strings.Repeat("]", 1500))
	if err := s.JournalExecutions(t.Context(), []*Execution{journalRow(1), deep, journalRow(3)}); err != nil {
		t.Fatal(err)
	}
	if err := s.journal.moveAll(t.Context()); err == nil || !strings.Contains(err.Error(), "not now") {
		t.Fatalf("the move with row 3 refused: %v", err)
	}
	if _, err := s.pool.ExecContext(t.Context(), `DROP TRIGGER refuse_three`); err != nil {
		t.Fatal(err)
	}
	if got := fuelsOf(t, s); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
		t.Fatalf("rows %v, want [1 2 3] once each", got)
	}
}

// TestJournalKeepsWhatItCannotRead: bytes after the last record that are
// not a record cut short (here a record of another format version) are
// kept in a file beside the journal, and Migrate says so instead of
// dropping them; the records before them are moved.
func TestJournalKeepsWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	openJournaled(t, dir).Close()
	good, _ := appendRecord(nil, journaled{seq: 1, e: *journalRow(1)})
	other, _ := appendRecord(nil, journaled{seq: 2, e: *journalRow(2)})
	other[8] = journalFormat + 1
	binary.LittleEndian.PutUint32(other[4:], crc32.Checksum(other[8:], castagnoli))
	path := filepath.Join(dir, SQLiteFile+journalSuffix)
	if err := os.WriteFile(path, append(good, other...), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Migrate(t.Context())
	kept := path + ".unread-1"
	if err == nil || !strings.Contains(err.Error(), kept) {
		t.Fatalf("Migrate: %v, want the error to name %s", err, kept)
	}
	if b, rerr := os.ReadFile(kept); rerr != nil || !bytes.Equal(b, other) {
		t.Fatalf("kept %d bytes (%v), want the %d unread", len(b), rerr, len(other))
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again, the bytes kept aside: %v", err)
	}
	if got := fuelsOf(t, s); !reflect.DeepEqual(got, []int64{1}) {
		t.Fatalf("rows %v, want [1]", got)
	}
}

// TestJournalRecordsRoundTrip: what appendRecord writes, readRecords reads
// back equal, and it stops at the first record cut short or changed.
func TestJournalRecordsRoundTrip(t *testing.T) {
	var buf []byte
	var want []journaled
	for i := range 3 {
		r := journaled{seq: uint64(i + 7), e: *journalRow(i)}
		r.e.Recording = JSON(`{"clock":[1]}`)
		want = append(want, r)
		var err error
		if buf, err = appendRecord(buf, r); err != nil {
			t.Fatal(err)
		}
	}
	got, n := readRecords(buf)
	if n != len(buf) || !reflect.DeepEqual(got, want) {
		t.Fatalf("read %d of %d bytes: %+v\nwant %+v", n, len(buf), got, want)
	}
	changed := bytes.Clone(buf)
	changed[len(changed)-2] ^= 1
	if got, _ := readRecords(changed); len(got) != 2 {
		t.Fatalf("a changed last record: %d read", len(got))
	}
	if got, _ := readRecords(buf[:len(buf)-1]); len(got) != 2 {
		t.Fatalf("a last record cut short: %d read", len(got))
	}
}

// FuzzJournalRecords: no bytes make readRecords or decodeRecord fail
// other than by refusing, and a record decoded that the table would take
// re-encodes to one that decodes equal (with its checksum, so readRecords
// takes it).
func FuzzJournalRecords(f *testing.F) {
	good, _ := appendRecord(nil, journaled{seq: 1, e: *journalRow(1)})
	f.Add(good)
	f.Add(good[8:])
	f.Add(good[:10])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, n := readRecords(data); n > len(data) {
			t.Fatalf("consumed %d of %d bytes", n, len(data))
		}
		r, ok := decodeRecord(data) // data as a payload, past the checksum
		if !ok || journalable(&r.e) != nil {
			return // not a record readRecords takes: the table would refuse it
		}
		again, err := appendRecord(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		back, n := readRecords(again)
		if n != len(again) || len(back) != 1 || !reflect.DeepEqual(back[0], r) {
			t.Fatalf("%+v re-encoded and read back as %+v", r, back)
		}
	})
}

// TestJournalMovesMoreThanABatch: more rows than one move commits
// (maxJournalBatch) all reach the table.
func TestJournalMovesMoreThanABatch(t *testing.T) {
	s := openJournaled(t, t.TempDir(), func(j *execJournal) { j.delay = time.Hour })
	var es []*Execution
	for i := range maxJournalBatch + 300 {
		es = append(es, journalRow(i))
	}
	if err := s.JournalExecutions(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	n, err := s.CountExecutionsSince(t.Context(), "cus_1", time.Time{})
	if err != nil || n != len(es) {
		t.Fatalf("%d rows in the table, %v; want %d", n, err, len(es))
	}
}

// TestJournalTakenOverWhenItsHolderCloses: a process that found the
// journal held writes to the table, and once the holder is gone takes the
// journal at its next write after journalRetry.
func TestJournalTakenOverWhenItsHolderCloses(t *testing.T) {
	dir := t.TempDir()
	a, b := openJournaled(t, dir), openJournaled(t, dir)
	if b.journal.state != journalElsewhere {
		t.Fatalf("b's journal: %v", b.journal.state)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(journalRetry + time.Second)
	b.journal.now = func() time.Time { return later }
	if err := b.JournalExecutions(t.Context(), []*Execution{journalRow(1)}); err != nil {
		t.Fatal(err)
	}
	if b.journal.state != journalOpen {
		t.Fatalf("b did not take the journal over: %v", b.journal.state)
	}
	if got := fuelsOf(t, b); !reflect.DeepEqual(got, []int64{1}) {
		t.Fatalf("rows %v", got)
	}
}

// TestJournalCloseLeavesWhatItCannotMove: a store closed while the table
// refuses the move says how many rows it left in the journal, and the
// next process moves them.
func TestJournalCloseLeavesWhatItCannotMove(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	s.journal.delay = time.Hour
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.ExecContext(t.Context(), `CREATE TRIGGER refuse_all BEFORE INSERT ON executions
		BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	if err := s.JournalExecutions(t.Context(), []*Execution{journalRow(1), journalRow(2)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "2 execution rows stay in the journal") {
		t.Fatalf("Close: %v", err)
	}
	next := openJournaledAfter(t, dir, `DROP TRIGGER refuse_all`)
	if got := fuelsOf(t, next); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Fatalf("rows %v after the next start", got)
	}
}

// openJournaledAfter opens the store in dir, runs stmt, then migrates it
// (which replays the journal).
func openJournaledAfter(t *testing.T, dir, stmt string) *Store {
	t.Helper()
	s, err := Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := s.pool.ExecContext(t.Context(), stmt); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}
