package mcphost_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestAnswerWaitsForItsRow: a tool call answers only once its execution
// row is committed (execlog.go), so a node killed with -9 loses no
// answered call. It guards the property against a change that would
// write the row beside or after the answer: with the write held, an
// answer that does not wait arrives within milliseconds, and the test
// gives it a second (it cannot fail when the property holds).
func TestAnswerWaitsForItsRow(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{ipLimit: 1 << 30})
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	entered, gate := make(chan struct{}, 1), make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the Host closes, which flushes the log
	mcphost.GateExecutionLog(e.host, entered, gate)
	answered := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, e.url(srv.ID), strings.NewReader(callBody(1)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+srv.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- string(b)
	}()
	select {
	case <-entered: // the row is on its way to the store, held there
	case body := <-answered:
		t.Fatalf("answered without writing a row: %s", body)
	case <-time.After(time.Minute):
		t.Fatal("the call's row never reached the store")
	}
	select {
	case body := <-answered:
		t.Fatalf("answered before its row was committed: %s", body)
	case <-time.After(time.Second):
	}
	release()
	if body := <-answered; !strings.Contains(body, `\"length\":`) {
		t.Fatalf("answer %s", body)
	}
	if n := len(e.executions(srv)); n != 1 {
		t.Fatalf("%d executions, want 1", n)
	}
}
