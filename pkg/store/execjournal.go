package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

// The execution journal: SQLite's execution rows, durable in one write.
//
// A tool call answers once its execution row is durable (mcphost's
// execlog.go). On SQLite, committing the row in the call costs some 70 µs
// of CPU, and on a quiet two-core machine about 200 µs of the call's
// latency, as much as the native go-sdk server takes for the whole call
// (bench/results.md). So a node appends its rows to a journal file next to
// the database instead, with one write(2), and a goroutine moves them into
// the table in batches, journalDelay after the first one is appended.
//
// A row in the journal survives what a committed row survives at the
// database's synchronous=NORMAL: a crash of the process (the kernel holds
// the write), not a power cut before the kernel writes it back. The next
// process to open the journal, in Migrate, moves what a crashed one left.
//
// Each record carries a sequence number, and the transaction that moves rows
// sets execution_journal.moved to the last one it holds, so rows replayed
// after a crash between that commit and the file's truncation are not
// inserted twice. The file is emptied once all it holds is in the table,
// and appends wait for that when it reaches maxJournalBytes.
//
// Readers of the table in this process (Execution, ListExecutions,
// CountExecutionsSince) first wait for the rows journaled before them;
// another process sees them journalDelay late, or later while the database
// refuses the move (the rows wait in the file meanwhile). Under a steady
// stream of calls the file may not be empty between moves; it grows then
// until maxJournalBytes, where appends wait for one whole move (a stall of
// milliseconds for small rows, more for large recorded ones). Rotating
// between two files would remove the stall; it has not been needed yet. One process journals
// at a time: it holds an exclusive flock(2) on the file; another (kiln admin
// beside kiln serve, a second process on the same file) writes its rows
// straight to the table, and tries for the lock again every journalRetry.
const (
	journalDelay    = 5 * time.Millisecond
	journalRetry    = time.Second
	maxJournalBytes = 64 << 20
	// maxJournalBatch bounds the rows one move commits.
	maxJournalBatch = 1024
)

// journalSuffix names the journal after the database file.
const journalSuffix = "-executions.journal"

type journalState int

const (
	journalClosed    journalState = iota // not opened yet, or after close
	journalOpen                          // this process journals
	journalElsewhere                     // another process holds the file
)

// execJournal is a Store's journal; every Store made from one Open shares
// it, like the log it moves rows with.
type execJournal struct {
	path string
	log  *sqliteLog
	// now is the clock of the retry of the lock.
	now func() time.Time
	// delay and maxBytes are journalDelay and maxJournalBytes, which
	// tests change.
	delay    time.Duration
	maxBytes int64

	mu       sync.Mutex
	cond     *sync.Cond // signalled when rows are moved or the mover fails
	state    journalState
	retryAt  time.Time // journalElsewhere: when to try for the lock again
	file     *os.File
	size     int64  // bytes in the file
	seq      uint64 // the last record's sequence number
	moved    uint64 // the last sequence number in the table
	pending  []journaled
	failure  error // the mover's last failure, until a move succeeds
	attempts int   // moves tried, for readers waiting for a fresh one
	// broken: a write failed and its part could not be cut off, so the
	// file ends in a torn record: rows go to the table directly from then
	// on, and the mover still moves those held in memory.
	broken   bool
	shutdown bool // Store.Close: no more appends

	kick, urgent chan struct{} // wake the mover: rows appended; a reader waits
	quit, done   chan struct{} // stop the mover; closed when it has stopped
}

// journaled is one row in the journal: a copy of the caller's Execution,
// whose documents it shares (the caller does not change them once they
// are recorded).
type journaled struct {
	seq uint64
	e   Execution
}

func newExecJournal(path string, log *sqliteLog, now func() time.Time) *execJournal {
	j := &execJournal{path: path, log: log, now: now, delay: journalDelay, maxBytes: maxJournalBytes}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// append makes es durable in the journal, or, when another process holds
// it, writes them to the table (RecordExecutions). The copies journaled
// get their ids when they reach the table; es do not.
func (j *execJournal) append(ctx context.Context, es []*Execution, now func() time.Time) error {
	j.mu.Lock()
	if err := j.openLocked(ctx); err != nil || j.state != journalOpen || j.broken {
		// Another process holds the journal, or taking over a dead one's
		// failed (tried again after journalRetry): the table takes the
		// rows, as it did before there was a journal.
		j.mu.Unlock()
		return j.log.record(ctx, now, es, 0)
	}
	defer j.mu.Unlock()
	if err := j.roomLocked(ctx); err != nil {
		return err
	}
	var buf []byte
	rows := make([]journaled, len(es))
	for i, e := range es {
		if err := journalable(e); err != nil {
			return err
		}
		c := *e
		c.ID = 0
		if c.StartedAt.IsZero() {
			c.StartedAt = now()
		}
		c.StartedAt = utc(c.StartedAt)
		rows[i] = journaled{seq: j.seq + uint64(i) + 1, e: c}
		var err error
		if buf, err = appendRecord(buf, rows[i]); err != nil {
			return err
		}
	}
	if _, err := j.file.Write(buf); err != nil {
		// A part written would end the journal early on replay: cut it,
		// or stop appending after it.
		err = fmt.Errorf("write the execution journal: %w", err)
		if terr := j.file.Truncate(j.size); terr != nil {
			j.broken = true
			err = errors.Join(err, terr)
		}
		return err
	}
	j.size += int64(len(buf))
	j.seq += uint64(len(es))
	j.pending = append(j.pending, rows...)
	j.wakeMover(false)
	return nil
}

// roomLocked waits until the journal has room: the mover empties the file
// once it has moved all it holds. j.mu is held.
func (j *execJournal) roomLocked(ctx context.Context) error {
	return j.awaitLocked(ctx, func(tried int) (bool, error) {
		switch {
		case j.state != journalOpen || j.shutdown:
			return false, errors.New("the store is closed")
		case j.size < j.maxBytes && len(j.pending) < maxJournalRows:
			return true, nil
		case j.failure != nil && j.attempts > tried:
			return false, fmt.Errorf("the execution journal is full and its rows cannot be moved: %w", j.failure)
		}
		return false, nil
	})
}

// awaitLocked waits, waking the mover, until done reports true or an
// error, or ctx ends. done gets the moves tried when the wait began: a
// failure recorded before it may have passed, so only one of a move tried
// since is an answer. j.mu is held.
func (j *execJournal) awaitLocked(ctx context.Context, done func(tried int) (bool, error)) error {
	tried := j.attempts
	if ok, err := done(tried); ok || err != nil {
		return err // the usual case, without registering on ctx
	}
	stop := context.AfterFunc(ctx, j.broadcast)
	defer stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		j.wakeMover(true)
		j.cond.Wait()
		if ok, err := done(tried); ok || err != nil {
			return err
		}
	}
}

// broadcast wakes the waits on j.cond, for a context that ended.
func (j *execJournal) broadcast() {
	j.mu.Lock()
	j.cond.Broadcast()
	j.mu.Unlock()
}

// maxJournalRows bounds the rows journaled and not yet moved: their
// copies are held in memory until they are.
const maxJournalRows = 64 << 10

// journalable checks what the table's CHECK constraints check, which the
// move can no longer refuse back to the caller.
func journalable(e *Execution) error {
	switch {
	case e.Outcome == "":
		return errors.New("an execution needs an outcome")
	case e.FuelUsed < 0 || e.MemoryPeak < 0 || e.Duration < 0:
		return errors.New("an execution's fuel, memory and duration cannot be negative")
	}
	for _, doc := range []JSON{e.Arguments, e.Result, e.Logs, e.Recording} {
		if doc != nil && !json.Valid(doc) {
			return errors.New("an execution's arguments, result, logs and recording must be JSON documents")
		}
	}
	return nil
}

// wait returns once every row journaled before it was called is in the
// table, or ctx ends, or the mover fails (its error).
func (j *execJournal) wait(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	target := j.seq
	return j.awaitLocked(ctx, func(tried int) (bool, error) {
		switch {
		case j.state != journalOpen || j.moved >= target:
			return true, nil
		case j.failure != nil && j.attempts > tried:
			return false, fmt.Errorf("the execution journal's rows are not in the table yet: %w", j.failure)
		}
		return false, nil
	})
}

// wakeMover tells the mover there are rows; urgent skips its delay.
func (j *execJournal) wakeMover(urgent bool) {
	select {
	case j.kick <- struct{}{}:
	default:
	}
	if urgent {
		select {
		case j.urgent <- struct{}{}:
		default:
		}
	}
}

// open is openLocked, for Migrate.
func (j *execJournal) open(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.openLocked(ctx)
}

// openLocked opens the journal unless it is open, moving what the file
// holds into the table, and starts the mover. Another process's journal is
// left to it; j.mu is held.
func (j *execJournal) openLocked(ctx context.Context) error {
	switch {
	case j.shutdown:
		return errors.New("the store is closed")
	case j.state == journalOpen, j.state == journalElsewhere && j.now().Before(j.retryAt):
		return nil
	}
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the execution journal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if cerr := f.Close(); cerr != nil || !errors.Is(err, syscall.EWOULDBLOCK) {
			return errors.Join(fmt.Errorf("lock the execution journal: %w", err), cerr)
		}
		j.state, j.retryAt = journalElsewhere, j.now().Add(journalRetry)
		return nil
	}
	if err := sameFile(f, j.path); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := j.replay(ctx, f); err != nil {
		j.state, j.retryAt = journalElsewhere, j.now().Add(journalRetry)
		return errors.Join(err, f.Close())
	}
	j.file, j.size, j.state = f, 0, journalOpen
	j.kick, j.urgent = make(chan struct{}, 1), make(chan struct{}, 1)
	j.quit, j.done = make(chan struct{}), make(chan struct{})
	go j.mover(j.kick, j.urgent, j.quit, j.done)
	return nil
}

// sameFile checks that the file locked is the one at path: a journal
// replaced between the open and the lock would be another process's.
func sameFile(f *os.File, path string) error {
	locked, err := f.Stat()
	if err != nil {
		return fmt.Errorf("the execution journal: %w", err)
	}
	named, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("the execution journal: %w", err)
	}
	if !os.SameFile(locked, named) {
		return errors.New("the execution journal was replaced while it was being opened")
	}
	return nil
}

// replay moves the records of f not in the table yet into it, then
// empties f. A record cut short at the end is a write the machine stopped
// in, and is dropped; bytes after the last record that are not one (a
// newer binary's format, damage) are kept in a file beside the journal,
// and replay fails, naming it: they may hold answered calls' rows.
func (j *execJournal) replay(ctx context.Context, f *os.File) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read the execution journal: %w", err)
	}
	moved, err := j.log.journalMark(ctx)
	if err != nil {
		return err
	}
	rows, n := readRecords(data)
	j.seq, j.moved = moved, moved
	var left []journaled
	for _, r := range rows {
		if r.seq > moved {
			left = append(left, r)
		}
		j.seq = max(j.seq, r.seq)
	}
	for len(left) > 0 {
		done, err := j.move(ctx, left[:min(len(left), maxJournalBatch)])
		left = left[done:]
		if err != nil {
			return fmt.Errorf("move the execution journal's rows into the table: %w", err)
		}
	}
	j.moved = j.seq
	var unread error
	if rest := data[n:]; len(rest) > 0 && !tornTail(rest) {
		kept := fmt.Sprintf("%s.unread-%d", j.path, j.seq)
		if err := os.WriteFile(kept, rest, 0o600); err != nil {
			return fmt.Errorf("keep the execution journal's %d unreadable bytes: %w", len(rest), err)
		}
		unread = fmt.Errorf("the execution journal ended in %d bytes that are not records of this binary's: "+
			"they are kept in %s for whoever knows what wrote them, and the next start goes on without them", len(rest), kept)
	}
	if err := f.Truncate(0); err != nil {
		return errors.Join(unread, fmt.Errorf("empty the execution journal: %w", err))
	}
	return unread
}

// tornTail reports whether rest, the bytes after the last whole record,
// are the start of one cut short: its header, or part of it, promising
// more bytes than there are.
func tornTail(rest []byte) bool {
	if len(rest) < 8 {
		return true
	}
	n := binary.LittleEndian.Uint32(rest)
	return n <= maxJournalRecord && uint64(len(rest)-8) < uint64(n)
}

// mover moves the rows appended, journalDelay after the first (at once for
// a waiting reader), until quit; then what is left, in one last try.
func (j *execJournal) mover(kick, urgent, quit, done chan struct{}) {
	defer close(done)
	pause := j.delay
	for {
		select {
		case <-kick:
		case <-quit:
			j.moveAll(context.Background())
			return
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-urgent:
		case <-quit:
		}
		t.Stop()
		if err := j.moveAll(context.Background()); err != nil {
			pause = min(2*max(pause, 50*time.Millisecond), time.Second) // the database is away: try less often
			j.wakeMover(false)
			continue
		}
		pause = j.delay
	}
}

// moveAll moves the pending rows in batches, emptying the file once all
// are in the table; it stops at the first failure, recorded for readers.
func (j *execJournal) moveAll(ctx context.Context) error {
	for {
		j.mu.Lock()
		n := min(len(j.pending), maxJournalBatch)
		batch := j.pending[:n:n]
		if n == 0 {
			err := j.emptyLocked()
			j.mu.Unlock()
			return err
		}
		j.mu.Unlock()
		done, err := j.move(ctx, batch)
		j.mu.Lock()
		j.attempts++
		j.failure = err
		if done > 0 {
			j.pending = j.pending[done:]
			j.moved = batch[done-1].seq
		}
		if err == nil {
			err = j.emptyLocked()
		}
		j.cond.Broadcast()
		j.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// emptyLocked empties the file once every row it holds is in the table;
// j.mu is held.
func (j *execJournal) emptyLocked() error {
	if len(j.pending) > 0 || j.size == 0 || j.broken {
		return nil
	}
	if err := j.file.Truncate(0); err != nil {
		j.failure = fmt.Errorf("empty the execution journal: %w", err)
		j.cond.Broadcast()
		return j.failure
	}
	j.size = 0
	j.cond.Broadcast()
	return nil
}

// move commits rows into the table with the mark of the last one, and
// says how many of them are in, also when it fails. A row the table
// refuses in spite of journalable (SQLite's JSON checks are not Go's) is
// kept without the documents it refused, not lost: the execution
// happened, and its row is what usage and audits count. That goes row by
// row, each with its own mark, so a failure partway leaves the rows before
// it moved, and counted, not moved again.
func (j *execJournal) move(ctx context.Context, rows []journaled) (int, error) {
	es := make([]*Execution, len(rows))
	for i := range rows {
		e := rows[i].e
		es[i] = &e
	}
	err := j.log.record(ctx, nil, es, rows[len(rows)-1].seq)
	if err == nil {
		return len(rows), nil
	}
	if !isCheck(err) {
		return 0, err
	}
	for i, e := range es {
		err := j.log.record(ctx, nil, []*Execution{e}, rows[i].seq)
		if isCheck(err) {
			e.Detail += fmt.Sprintf(" (the execution log refused this call's documents: %v)", err)
			e.Arguments, e.Result, e.Logs, e.Recording = nil, nil, nil, nil
			err = j.log.record(ctx, nil, []*Execution{e}, rows[i].seq)
		}
		if err != nil {
			return i, err
		}
	}
	return len(rows), nil
}

// close moves what it can, stops the mover and closes the file, which
// releases the lock; rows still in it wait for the next process.
func (j *execJournal) close() error {
	j.mu.Lock()
	if j.shutdown || j.state != journalOpen {
		j.shutdown, j.state = true, journalClosed
		j.mu.Unlock()
		return nil
	}
	j.shutdown = true
	quit, done := j.quit, j.done
	j.mu.Unlock()
	close(quit)
	<-done
	j.mu.Lock()
	defer j.mu.Unlock()
	j.state = journalClosed
	j.cond.Broadcast()
	var err error
	if len(j.pending) > 0 {
		err = fmt.Errorf("%d execution rows stay in the journal for the next start: %v", len(j.pending), j.failure)
	}
	if cerr := j.file.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the execution journal: %w", cerr))
	}
	return err
}

// A record is its payload's length and CRC-32C (little-endian uint32s),
// then the payload: the format's version (journalFormat), the sequence
// number, the row's integers as varints (the start as Unix seconds and
// nanoseconds), its strings and documents each as a length and the bytes
// (a document's length plus one, so that 0 is a nil document: SQL NULL). A hand-written encoding because it is on every
// call's path: encoding/json took 12 µs a row, this takes about one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxJournalRecord bounds a record's payload when reading: a length beyond
// it is a corrupt record, not a reason to allocate.
const maxJournalRecord = 256 << 20

// journalFormat is the records' version: a binary that reads another
// keeps those bytes aside (replay) rather than misread them.
const journalFormat = 1

func appendRecord(buf []byte, r journaled) ([]byte, error) {
	e := &r.e
	start := len(buf)
	buf = append(buf, make([]byte, 8)...) // length and checksum, filled in below
	buf = append(buf, journalFormat)
	buf = binary.AppendUvarint(buf, r.seq)
	for _, v := range []int64{e.FuelUsed, e.MemoryPeak, int64(e.Duration), e.StartedAt.Unix(), int64(e.StartedAt.Nanosecond())} {
		buf = binary.AppendVarint(buf, v)
	}
	for _, v := range []string{e.CustomerID, e.ServerID, e.ToolName, e.ModuleHash, e.Actor, e.Outcome, e.Detail} {
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	for _, doc := range []JSON{e.Arguments, e.Result, e.Logs, e.Recording} {
		if doc == nil {
			buf = binary.AppendUvarint(buf, 0)
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(len(doc))+1)
		buf = append(buf, doc...)
	}
	payload := buf[start+8:]
	if len(payload) > maxJournalRecord {
		return buf[:start], fmt.Errorf("an execution of %d bytes is larger than the journal takes (%d)", len(payload), maxJournalRecord)
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
	return buf, nil
}

// recordReader decodes one payload; the first field that does not fit
// sets bad.
type recordReader struct {
	b   []byte
	bad bool
}

func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	r.skip(n)
	return v
}

func (r *recordReader) varint() int64 {
	v, n := binary.Varint(r.b)
	r.skip(n)
	return v
}

// skip passes the n bytes a varint took; n <= 0 is binary's "none fits",
// whose value is 0.
func (r *recordReader) skip(n int) {
	if n <= 0 {
		r.bad = true
		return
	}
	r.b = r.b[n:]
}

func (r *recordReader) bytes(n uint64) []byte {
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) string() string { return string(r.bytes(r.uvarint())) }

func (r *recordReader) doc() JSON {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	return slices.Clone(JSON(r.bytes(n - 1)))
}

// decodeRecord decodes a payload appendRecord wrote.
func decodeRecord(payload []byte) (journaled, bool) {
	if len(payload) == 0 || payload[0] != journalFormat {
		return journaled{}, false
	}
	r := recordReader{b: payload[1:]}
	var j journaled
	e := &j.e
	// The mark is an SQL integer: a larger sequence number could never be
	// moved.
	if j.seq = r.uvarint(); j.seq == 0 || j.seq > math.MaxInt64 {
		return journaled{}, false
	}
	e.FuelUsed, e.MemoryPeak, e.Duration = r.varint(), r.varint(), time.Duration(r.varint())
	e.StartedAt = time.Unix(r.varint(), r.varint()).UTC()
	for _, v := range []*string{&e.CustomerID, &e.ServerID, &e.ToolName, &e.ModuleHash, &e.Actor, &e.Outcome, &e.Detail} {
		*v = r.string()
	}
	for _, v := range []*JSON{&e.Arguments, &e.Result, &e.Logs, &e.Recording} {
		*v = r.doc()
	}
	return j, !r.bad && len(r.b) == 0
}

// readRecords decodes data's records up to the first that is cut short or
// corrupt, and reports how many bytes they take.
func readRecords(data []byte) ([]journaled, int) {
	var out []journaled
	off := 0
	for len(data)-off >= 8 {
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > maxJournalRecord || uint64(len(data)-off-8) < uint64(n) {
			break
		}
		payload := data[off+8 : off+8+int(n)]
		if crc32.Checksum(payload, castagnoli) != sum {
			break
		}
		r, ok := decodeRecord(payload)
		if !ok || journalable(&r.e) != nil { // the table would refuse it forever
			break
		}
		out = append(out, r)
		off += 8 + int(n)
	}
	return out, off
}
