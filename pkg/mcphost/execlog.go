package mcphost

import (
	"context"
	"sync"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// Execution log writes, committed in groups.
//
// A call's execution row is made durable by store.JournalExecutions: on
// PostgreSQL one INSERT that commits asynchronously unless the operator
// asks for a flush to disk (store.Store.SyncExecutions: what survives
// which crash); on SQLite one write to the node's journal, which the store
// moves into the table in batches (store/execjournal.go). Calls that finish together share one
// write: the tool handler hands its row to an execLog; a call that finds
// no write under way writes its row itself, and the rows that queue
// meanwhile are written by a writer goroutine, up to maxExecBatch rows in
// one write (one statement, or one append to SQLite's journal); each
// call answers once the write holding its row is durable. (A lone call
// writing its own row spares it two goroutine hand-offs, which on two busy
// cores cost more than the wake-ups suggest; writing the row beside the
// SDK's encoding of the answer measured slower still: bench/results.md.)
// A batch is also bounded in bytes (maxExecBatchBytes of arguments, result,
// logs and recording; a larger row goes alone): with recorded calls of up
// to about 2 MB a row (ARCHITECTURE.md), 256 rows would be one transaction of some 500 MB.
// So a client that has its answer has its execution on record, and a
// node killed with -9 loses no execution it answered; a busy node still
// commits once for many calls.
//
// The queue is bounded (maxExecQueue rows): a call that finds it full
// waits for room, so a store slower than the calls slows the calls. A
// batch the database was away for (a restart, a failover) is retried
// until it is back, for up to recordOutage, so that the calls meanwhile
// wait for their rows rather than answer without them; a batch the store
// refused is retried row by row, so one bad row does not take the others
// with it; a row that still cannot be written is logged. After Host.Close,
// rows are written by the call itself.
const (
	maxExecQueue = 4096
	maxExecBatch = 256
	// maxExecBatchBytes bounds the payload bytes (execBytes) of one batch.
	maxExecBatchBytes = 16 << 20
	// recordOutage bounds the wait for a database that went away: longer
	// than a PostgreSQL restart or a managed failover's switch (a few
	// seconds), shorter than a client's patience.
	recordOutage = 10 * time.Second
)

type execLog struct {
	write func(ctx context.Context, es []*store.Execution) error
	// fail reports a row that could not be written.
	fail func(e *store.Execution, err error)

	mu      sync.Mutex
	cond    *sync.Cond // signalled when queue or writing changes
	queue   []pendingExec
	writing bool // a row is being written: by the call that found none, or the writer goroutine
	closed  bool
}

// pendingExec is a row and the channel closed once it is written (or has
// failed); nil for a row its own call writes, which waits for no signal.
type pendingExec struct {
	e    *store.Execution
	done chan struct{}
}

func newExecLog(write func(context.Context, []*store.Execution) error, fail func(*store.Execution, error)) *execLog {
	l := &execLog{write: write, fail: fail}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// add writes e with whatever else is queued, and returns once it is
// committed (or has failed, which fail reports). A call that finds no
// write under way writes its row itself, which spares a lone call two
// goroutine hand-offs; rows that queue meanwhile are then written by a
// writer goroutine, which runs only while there is something to write, so
// an idle Host holds none. After close, every call writes its row itself.
func (l *execLog) add(e *store.Execution) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.writeBatch([]pendingExec{{e: e}})
		return
	}
	for len(l.queue) >= maxExecQueue {
		l.cond.Wait()
	}
	if !l.writing { // so the queue is empty
		l.writing = true
		l.mu.Unlock()
		l.writeBatch([]pendingExec{{e: e}})
		l.mu.Lock()
		if len(l.queue) > 0 {
			go l.drain()
		} else {
			l.writing = false
			l.cond.Broadcast() // flushes waiting for the writer
		}
		l.mu.Unlock()
		return
	}
	p := pendingExec{e: e, done: make(chan struct{})}
	l.queue = append(l.queue, p)
	l.mu.Unlock()
	<-p.done
}

// drain writes batches until the queue is empty, then exits.
func (l *execLog) drain() {
	l.mu.Lock()
	for len(l.queue) > 0 {
		n := batchLen(l.queue)
		batch := l.queue[:n:n]
		l.queue = l.queue[n:]
		if len(l.queue) == 0 {
			l.queue = nil // let the backing array go
		}
		l.cond.Broadcast() // room for waiting adds
		l.mu.Unlock()
		l.writeBatch(batch)
		l.mu.Lock()
	}
	l.writing = false
	l.cond.Broadcast() // flushes waiting for the writer
	l.mu.Unlock()
}

// batchLen is how many of the queued rows the next batch takes: at most
// maxExecBatch, and no more than maxExecBatchBytes of them, but at least
// one, so a row larger than the bound goes alone.
func batchLen(queue []pendingExec) int {
	n, size := 0, 0
	for n < len(queue) && n < maxExecBatch {
		size += execBytes(queue[n].e)
		if n > 0 && size > maxExecBatchBytes {
			break
		}
		n++
	}
	return n
}

// execBytes is what a row weighs in a batch: its payload columns.
func execBytes(e *store.Execution) int {
	return len(e.Arguments) + len(e.Result) + len(e.Logs) + len(e.Recording)
}

// writeBatch writes the rows in one transaction or, if that fails, one by
// one, then lets their calls answer. Each attempt is bounded by
// recordTimeout (on SQLite by the log connection's busy timeout, as long,
// which is the one wait the write can have: store/execlog_sqlite.go).
func (l *execLog) writeBatch(ps []pendingExec) {
	defer func() {
		for _, p := range ps {
			if p.done != nil {
				close(p.done)
			}
		}
	}()
	es := make([]*store.Execution, len(ps))
	for i, p := range ps {
		es[i] = p.e
	}
	err := l.writeRetrying(es)
	if err == nil {
		return
	}
	if len(es) == 1 {
		l.fail(es[0], err)
		return
	}
	for _, e := range es {
		e.ID = 0
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		if err := l.write(ctx, []*store.Execution{e}); err != nil {
			l.fail(e, err)
		}
		cancel()
	}
}

// writeRetrying writes es in one transaction, each attempt bounded by
// recordTimeout, trying again while the database is unavailable
// (store.Unavailable) for up to recordOutage, with a growing pause.
func (l *execLog) writeRetrying(es []*store.Execution) error {
	giveUp := time.Now().Add(recordOutage)
	pause := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		err := l.write(ctx, es)
		cancel()
		if err == nil || !store.Unavailable(err) || time.Now().Add(pause).After(giveUp) {
			return err
		}
		for _, e := range es {
			e.ID = 0 // not written: the next attempt assigns it
		}
		time.Sleep(pause) // waiting for the database to come back
		pause = min(2*pause, time.Second)
	}
}

// flush waits until every row queued before it was called is written (or
// failed), or ctx ends.
func (l *execLog) flush(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.writing || len(l.queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.cond.Wait()
	}
	return nil
}

// close makes later adds synchronous and flushes what is queued.
func (l *execLog) close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.flush(ctx)
}
