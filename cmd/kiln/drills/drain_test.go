package drills

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// holdAddr is where the fixture's "wait" may connect: its manifest names
// this address (a manifest's egress names ports, not ranges), so drills
// run one at a time on a machine.
const holdAddr = "127.0.0.1:39127"

// hold is an HTTP server whose requests wait until the test releases
// them: a tool call fetching it ("wait") is in flight, and known to be,
// for as long as the test wants.
type hold struct {
	url     string
	arrived chan struct{} // one value per request that arrived
	release func()
	// close releases and stops the server, freeing holdAddr.
	close func()
}

func newHold(t *testing.T) *hold {
	t.Helper()
	h := &hold{arrived: make(chan struct{}, 1024)}
	released := make(chan struct{})
	var once sync.Once
	h.release = func() { once.Do(func() { close(released) }) }
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.arrived <- struct{}{}
		select {
		case <-released:
			w.Write([]byte("released"))
		case <-r.Context().Done():
		}
	}))
	ln, err := net.Listen("tcp", holdAddr)
	if err != nil {
		t.Fatalf("the fixture's egress address %s is taken (another drill running?): %v", holdAddr, err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	h.url = srv.URL + "/hold"
	var closeOnce sync.Once
	h.close = func() { closeOnce.Do(func() { h.release(); srv.Close() }) }
	t.Cleanup(h.close)
	return h
}

// waitArrived waits for n requests to arrive.
func (h *hold) waitArrived(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for range n {
		select {
		case <-h.arrived:
		case <-deadline:
			t.Fatalf("the call did not reach the hold server within %v", within)
		}
	}
}

type answer struct {
	res callResult
	err error
	at  time.Time
}

// callAsync makes a call in the background; its answer arrives on the
// channel.
func (tn tenant) callAsync(base, tool string, args any) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := tn.call(ctx, client, base, tool, args)
		ch <- answer{res, err, time.Now()}
	}()
	return ch
}

// executions reads a server's whole execution log from a node's
// database, newest first.
func executions(t *testing.T, databaseURL, dataDir string, tn tenant) []store.Execution {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, databaseURL, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var all []store.Execution
	var before int64
	for {
		rows, err := st.ListExecutions(ctx, store.ExecutionFilter{CustomerID: tn.customer, ServerID: tn.server, Before: before, Limit: store.MaxPage})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
		if len(rows) < store.MaxPage {
			return all
		}
		before = rows[len(rows)-1].ID
	}
}

// TestDrainOnSIGTERM: a SIGTERM in the middle of a tool call. /readyz
// turns 503 at once while the node still serves, the call in flight
// completes after the signal, the listener closes after the drain delay,
// the call is in the execution log, and the process exits 0 within the
// drain delay plus the shutdown timeout. With a call that outlasts the
// shutdown timeout, the process exits non-zero at the deadline instead of
// hanging.
func TestDrainOnSIGTERM(t *testing.T) {
	const delay, timeout = 1500 * time.Millisecond, 10 * time.Second
	d := newDeployment(t, "")
	n := d.start(t, "node", "--drain-delay", delay.String(), "--shutdown-timeout", timeout.String())
	d.pushLibrary(t, n.url, "1.0.0")
	tn := d.newTenant(t, n.url, "echo", "wait")
	h := newHold(t)

	answered := tn.callAsync(n.url, "wait", map[string]string{"url": h.url})
	h.waitArrived(t, 1, 20*time.Second)
	sigAt := time.Now()
	n.signal(t, syscall.SIGTERM)

	// Readiness fails first, answered by the still open listener.
	var notReady time.Duration
	for {
		status, body := get(n.url + "/readyz")
		if status == http.StatusServiceUnavailable {
			notReady = time.Since(sigAt)
			if !strings.Contains(body, "shutting down") {
				t.Errorf("/readyz while draining: %s", body)
			}
			break
		}
		if status != http.StatusOK {
			t.Fatalf("/readyz during the drain: %d %s (the listener must stay open)", status, body)
		}
		if time.Since(sigAt) > delay {
			t.Fatalf("/readyz still 200 %v after SIGTERM", time.Since(sigAt))
		}
	}
	// Still serving while unready: load balancers may not have noticed yet.
	if status, _ := get(n.url + "/livez"); status != http.StatusOK {
		t.Errorf("/livez during the drain delay: %d", status)
	}
	tn.mustCall(t, n.url, "echo", map[string]string{"text": "during the drain"})

	h.release()
	a := <-answered
	if a.err != nil || !a.res.ok() || !strings.Contains(a.res.Text, "released") {
		t.Fatalf("the call in flight at SIGTERM: %+v %v", a.res, a.err)
	}
	if code := n.waitExit(t, delay+timeout+5*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
	exited := time.Since(sigAt)
	if status, _ := get(n.url + "/livez"); status != 0 {
		t.Errorf("the listener still answers after exit: %d", status)
	}
	t.Logf("SIGTERM → /readyz 503 in %v, call answered after %v, exit 0 after %v (drain delay %v)",
		notReady.Round(time.Millisecond), a.at.Sub(sigAt).Round(time.Millisecond), exited.Round(time.Millisecond), delay)

	var waits int
	for _, e := range executions(t, "", n.dataDir, tn) {
		if e.ToolName == "wait" && e.Outcome == "ok" && strings.Contains(string(e.Arguments), h.url) {
			waits++
		}
	}
	if waits != 1 {
		t.Errorf("the execution log has %d wait calls, want 1", waits)
	}

	h.close()
	t.Run("past the deadline", func(t *testing.T) {
		const timeout = 1 * time.Second
		n := d.spawn(t, "restarted", n.dataDir, "--drain-delay", "100ms", "--shutdown-timeout", timeout.String())
		n.waitReady(t, 60*time.Second)
		h := newHold(t)
		answered := tn.callAsync(n.url, "wait", map[string]string{"url": h.url})
		h.waitArrived(t, 1, 20*time.Second)
		sigAt := time.Now()
		n.signal(t, syscall.SIGTERM)
		code := n.waitExit(t, timeout+10*time.Second)
		if code == 0 {
			t.Error("exit status 0 with a call cut off at the deadline")
		}
		if a := <-answered; a.err == nil && a.res.ok() {
			t.Errorf("the held call succeeded: %+v", a.res)
		}
		if !strings.Contains(n.log.String(), "requests still running after 1s") {
			t.Errorf("the log does not say why:\n%s", tail(n.log.String(), 3000))
		}
		t.Logf("a call held past the deadline: exit %d after %v", code, time.Since(sigAt).Round(time.Millisecond))
	})
}
