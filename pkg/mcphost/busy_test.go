package mcphost_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
)

// TestBusyNodeAnswers503: a tool call the sandbox has no room for (one call
// at a time here, and no queue) is a 503 with Retry-After, not a 200 with a
// result, and is not logged as an execution.
func TestBusyNodeAnswers503(t *testing.T) {
	ctx := context.Background()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{MaxConcurrentCalls: 1, QueueWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(ctx) })
	e := newEnv(t, storetest.SQLite(t), envOptions{engine: engine, ipLimit: 1 << 30})
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)}, toolSpec{"spin", "spin", toolsModule(t)})

	// A call that holds the only place until canceled. It retries while it
	// is the one refused (an echo below may hold the place for a moment).
	spinCtx, stopSpin := context.WithCancel(ctx)
	spun := make(chan struct{})
	go func() {
		defer close(spun)
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"spin","arguments":{}}}`
		for spinCtx.Err() == nil {
			req, _ := http.NewRequestWithContext(spinCtx, http.MethodPost, e.url(srv.ID), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Authorization", "Bearer "+srv.key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // canceled
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				return
			}
		}
	}()
	defer func() { stopSpin(); <-spun }()

	var status int
	var retryAfter, body string
	waitFor(t, time.Minute, "a call refused while another spins", func() bool {
		resp := rawPost(t, e.url(srv.ID), srv.key, callBody(7))
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, retryAfter, body = resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
		return status != http.StatusOK
	})
	secs, err := strconv.Atoi(retryAfter)
	if status != http.StatusServiceUnavailable || err != nil || secs < 1 ||
		!strings.Contains(body, "running as many tool calls as it can (calls)") || !strings.Contains(body, `"id":7`) {
		t.Fatalf("want 503 with Retry-After: %d %q %s", status, retryAfter, body)
	}
	for _, x := range e.executions(srv) {
		if x.Outcome == "host_error" {
			t.Fatalf("a refused call was logged as an execution: %+v", x)
		}
	}
	// With the spinner gone, calls run again.
	stopSpin()
	<-spun
	waitFor(t, time.Minute, "a call running once the node has room", func() bool {
		resp := rawPost(t, e.url(srv.ID), srv.key, callBody(8))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
