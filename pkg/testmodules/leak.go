package testmodules

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"sync"

	"go.uber.org/goleak"
)

// LeakCheck fails a test binary if a goroutine outlived its tests: call it
// from TestMain with m.Run's exit code, os.Exit(testmodules.LeakCheck(code)).
// Idle keep-alive connections of HTTP clients are ignored: the tests'
// clients (http.DefaultClient, x/oauth2's, the go-sdk's) keep transports of
// their own, while Kiln's own outgoing requests (egress) use a single-use
// transport without keep-alive, closed after each request, so an ignored
// connection cannot be one of Kiln's.
func LeakCheck(code int) int {
	if code != 0 {
		return code
	}
	http.DefaultClient.CloseIdleConnections()
	if err := goleak.Find(
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	); err != nil {
		fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
		return 1
	}
	return code
}

// LockedBuffer collects output written by several goroutines, such as a
// node's log or a process's stderr.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *LockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// String returns what was written so far.
func (b *LockedBuffer) String() string { return string(b.Bytes()) }
