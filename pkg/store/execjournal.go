package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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
// another process sees them up to journalDelay late. One process journals
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
	shutdown bool  // Store.Close: no more appends

	kick, urgent chan struct{} // wake the mover: rows appended; a reader waits
	quit, done   chan struct{} // stop the mover; closed when it has stopped
}

// journaled is one row in the journal, a copy of the caller's.
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
	if err := j.openLocked(ctx); err != nil || j.state != journalOpen {
		j.mu.Unlock()
		if err != nil {
			return err
		}
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
		// A part written would end the journal early on replay: cut it.
		return errors.Join(fmt.Errorf("write the execution journal: %w", err), j.file.Truncate(j.size))
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
	if j.size < j.maxBytes && len(j.pending) < maxJournalRows {
		return nil
	}
	stop := context.AfterFunc(ctx, j.broadcast)
	defer stop()
	for j.size >= j.maxBytes || len(j.pending) >= maxJournalRows {
		if j.state != journalOpen {
			return errors.New("the store is closed")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		j.wakeMover(true)
		j.cond.Wait()
	}
	return nil
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
	stop := context.AfterFunc(ctx, j.broadcast)
	defer stop()
	j.mu.Lock()
	defer j.mu.Unlock()
	target := j.seq
	for j.state == journalOpen && j.moved < target {
		if j.failure != nil {
			return fmt.Errorf("the execution journal's rows are not in the table yet: %w", j.failure)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		j.wakeMover(true)
		j.cond.Wait()
	}
	return nil
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
	if err := j.replay(ctx, f); err != nil {
		return errors.Join(err, f.Close())
	}
	j.file, j.size, j.state = f, 0, journalOpen
	j.kick, j.urgent = make(chan struct{}, 1), make(chan struct{}, 1)
	j.quit, j.done = make(chan struct{}), make(chan struct{})
	go j.mover(j.kick, j.urgent, j.quit, j.done)
	return nil
}

// replay moves the records of f not in the table yet into it, then
// empties f. A record cut short or corrupt ends the file: a write is whole
// unless the machine stopped during it, and nothing follows the last.
func (j *execJournal) replay(ctx context.Context, f *os.File) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read the execution journal: %w", err)
	}
	moved, err := j.log.journalMark(ctx)
	if err != nil {
		return err
	}
	rows, _ := readRecords(data)
	j.seq, j.moved = moved, moved
	var left []journaled
	for _, r := range rows {
		if r.seq > moved {
			left = append(left, r)
		}
		j.seq = max(j.seq, r.seq)
	}
	for len(left) > 0 {
		n := min(len(left), maxJournalBatch)
		if err := j.move(ctx, left[:n]); err != nil {
			return fmt.Errorf("move the execution journal's rows into the table: %w", err)
		}
		left = left[n:]
	}
	j.moved = j.seq
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("empty the execution journal: %w", err)
	}
	return nil
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
		j.mu.Unlock()
		if n == 0 {
			return nil
		}
		err := j.move(ctx, batch)
		j.mu.Lock()
		j.failure = err
		if err == nil {
			j.pending = j.pending[n:]
			j.moved = batch[n-1].seq
			if len(j.pending) == 0 {
				j.pending = nil
				if err = j.file.Truncate(0); err == nil {
					j.size = 0
				} else {
					j.failure = fmt.Errorf("empty the execution journal: %w", err)
				}
			}
		}
		j.cond.Broadcast()
		j.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// move commits rows into the table with the mark of the last one. A row
// the table refuses in spite of journalable (SQLite's JSON checks are not
// Go's) is kept without the documents it refused, not lost: the execution
// happened, and its row is what usage and audits count.
func (j *execJournal) move(ctx context.Context, rows []journaled) error {
	es := make([]*Execution, len(rows))
	for i := range rows {
		e := rows[i].e
		es[i] = &e
	}
	err := j.log.record(ctx, nil, es, rows[len(rows)-1].seq)
	if err == nil || !isCheck(err) {
		return err
	}
	for i, e := range es {
		err := j.log.record(ctx, nil, []*Execution{e}, rows[i].seq)
		if isCheck(err) {
			e.Detail += fmt.Sprintf(" (the execution log refused this call's documents: %v)", err)
			e.Arguments, e.Result, e.Logs, e.Recording = nil, nil, nil, nil
			err = j.log.record(ctx, nil, []*Execution{e}, rows[i].seq)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// close moves what it can, stops the mover and closes the file, which
// releases the lock; rows still in it wait for the next process.
func (j *execJournal) close() error {
	j.mu.Lock()
	j.shutdown = true
	if j.state != journalOpen {
		j.state = journalClosed
		j.mu.Unlock()
		return nil
	}
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
		err = fmt.Errorf("%d execution rows stay in the journal for the next start: %w", len(j.pending), j.failure)
	}
	if cerr := j.file.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the execution journal: %w", cerr))
	}
	return err
}

// A record is its payload's length and CRC-32C (little-endian uint32s),
// then the payload: the sequence number, the row's integers as varints,
// its strings and documents each as a length and the bytes (a document's
// length plus one, so that 0 is a nil document: SQL NULL), and the start
// as Unix nanoseconds. A hand-written encoding because it is on every
// call's path: encoding/json took 12 µs a row, this takes about one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxJournalRecord bounds a record's payload when reading: a length beyond
// it is a corrupt record, not a reason to allocate.
const maxJournalRecord = 256 << 20

func appendRecord(buf []byte, r journaled) ([]byte, error) {
	e := &r.e
	start := len(buf)
	buf = append(buf, make([]byte, 8)...) // length and checksum, filled in below
	buf = binary.AppendUvarint(buf, r.seq)
	for _, v := range []int64{e.FuelUsed, e.MemoryPeak, int64(e.Duration), e.StartedAt.UnixNano()} {
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
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
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
	r := recordReader{b: payload}
	var j journaled
	e := &j.e
	j.seq = r.uvarint()
	e.FuelUsed, e.MemoryPeak, e.Duration = r.varint(), r.varint(), time.Duration(r.varint())
	e.StartedAt = time.Unix(0, r.varint()).UTC()
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
		if !ok {
			break
		}
		out = append(out, r)
		off += 8 + int(n)
	}
	return out, off
}
