package mcphost

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kilnhq/kiln/sandbox"
)

// A node that has no room for another call (sandbox.ErrBusy) answers 503
// with Retry-After, so that clients and load balancers try again later or
// elsewhere. The refusal is only known inside the SDK's tool handler, after
// the SDK has taken the HTTP answer; busyWriter holds what the SDK writes
// for a request with one tool call until the call is admitted or refused.
// The SDK writes nothing for such a request before its handler returns or
// sends a log line (Kiln configures no event store, so no priming event),
// and Kiln does neither before the sandbox admits or refuses the call.

// busyWriter passes the SDK's answer through, unless the call was refused
// first: then it drops it, and serveMCP answers 503 instead.
type busyWriter struct {
	w      http.ResponseWriter
	header http.Header // the SDK's, copied to w's when it first writes

	mu      sync.Mutex
	started bool // the SDK's answer has begun: too late for a 503
	busy    *sandbox.BusyError
}

func newBusyWriter(w http.ResponseWriter) *busyWriter {
	return &busyWriter{w: w, header: http.Header{}}
}

// refuse records the call's refusal. It reports false when the answer has
// begun already; the refusal then goes in it as a tool error.
func (b *busyWriter) refuse(e *sandbox.BusyError) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return false
	}
	b.busy = e
	return true
}

// refused is the refusal, once the SDK is done; nil for none.
func (b *busyWriter) refused() *sandbox.BusyError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.busy
}

// start reports whether the SDK's writes go through, starting the answer.
func (b *busyWriter) start() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy != nil {
		return false
	}
	if !b.started {
		b.started = true
		for k, v := range b.header {
			b.w.Header()[k] = v
		}
	}
	return true
}

// Header is the SDK's header map, kept apart until its answer starts.
func (b *busyWriter) Header() http.Header { return b.header }

func (b *busyWriter) WriteHeader(code int) {
	if b.start() {
		b.w.WriteHeader(code)
	}
}

func (b *busyWriter) Write(p []byte) (int, error) {
	if !b.start() {
		return len(p), nil // dropped: serveMCP answers 503
	}
	return b.w.Write(p)
}

// FlushError is what http.ResponseController, which the SDK flushes with,
// calls.
func (b *busyWriter) FlushError() error {
	if !b.start() {
		return nil
	}
	return http.NewResponseController(b.w).Flush()
}

// Unwrap gives http.ResponseController the connection's other controls.
func (b *busyWriter) Unwrap() http.ResponseWriter { return b.w }

// writeBusy answers 503 for a refused call.
func writeBusy(w http.ResponseWriter, id []byte, e *sandbox.BusyError) {
	secs := max(1, int(math.Ceil(e.RetryAfter.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusServiceUnavailable, id, fmt.Sprintf(
		"This Kiln node is running as many tool calls as it can (%s); retry in %v.", e.Resource, time.Duration(secs)*time.Second))
}
