package mcphost

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/sandbox"
)

// What a module tells its client while a call runs (ABI v2: kiln.progress
// and kiln.log_message) goes out as MCP notifications on the call's own
// response stream: the go-sdk writes a notification sent with the tool
// handler's context to the stream of the request that context belongs to,
// in stateless mode too (streamableServerConn.Write finds the stream by
// the request id the context carries). The sandbox has already held each
// call to its notification limits (sandbox.NotifyLimits); here they are
// only queued and sent.

// forwardQueue is how many notifications may wait for a slow client; past
// it, they are dropped (and counted in the execution log).
const forwardQueue = 64

// notification is one queued progress report or log message.
type notification struct {
	progress *mcp.ProgressNotificationParams
	log      *mcp.LoggingMessageParams
}

// forwarder is a call's sandbox.Notifier. Progress and Log run on the
// module's goroutine and only queue; one goroutine of its own, started by
// the first notification (most calls send none), sends, so a slow client
// never holds the module (or its deadline) up.
type forwarder struct {
	ctx     context.Context
	session *mcp.ServerSession
	// token is the progressToken of the request's _meta; without one the
	// client asked for no progress, and reports are dropped.
	token  any
	logger string            // for messages whose module named no logger
	queue  chan notification // nil until the first notification
	done   chan struct{}
	// dropped counts what a full queue refused (module goroutine only).
	dropped int
}

// newForwarder makes a call's forwarder; nil when the request has no
// session to send on.
func newForwarder(ctx context.Context, req *mcp.CallToolRequest, toolName string) *forwarder {
	if req.Session == nil {
		return nil
	}
	f := &forwarder{ctx: ctx, session: req.Session, logger: toolName}
	if req.Params != nil {
		f.token = req.Params.GetProgressToken()
	}
	return f
}

// Progress implements sandbox.Notifier.
func (f *forwarder) Progress(p sandbox.Progress) {
	if f.token == nil {
		return
	}
	f.enqueue(notification{progress: &mcp.ProgressNotificationParams{
		ProgressToken: f.token, Progress: p.Progress, Total: p.Total, Message: p.Message,
	}})
}

// Log implements sandbox.Notifier. The SDK sends a message only at or
// above the level the request asked for: in stateless mode, on protocol
// revisions before 2026-07-28 that is info (logging/setLevel is answered
// but cannot outlive its own request), and on 2026-07-28 the level in the
// request's _meta (io.modelcontextprotocol/logLevel), none when absent.
func (f *forwarder) Log(m sandbox.LogMessage) {
	logger := m.Logger
	if logger == "" {
		logger = f.logger
	}
	f.enqueue(notification{log: &mcp.LoggingMessageParams{
		Level: mcp.LoggingLevel(m.Level), Logger: logger, Data: m.Data,
	}})
}

func (f *forwarder) enqueue(n notification) {
	if f.queue == nil {
		f.queue, f.done = make(chan notification, forwardQueue), make(chan struct{})
		go f.send()
	}
	select {
	case f.queue <- n:
	default:
		f.dropped++
	}
}

// send writes the queued notifications in order until finish. After a
// failed write (the client is gone) it only drains the queue.
func (f *forwarder) send() {
	defer close(f.done)
	failed := false
	for n := range f.queue {
		if failed {
			continue
		}
		var err error
		if n.progress != nil {
			err = f.session.NotifyProgress(f.ctx, n.progress)
		} else {
			err = f.session.Log(f.ctx, n.log)
		}
		failed = err != nil
	}
}

// finish waits until everything queued is written, so that every
// notification precedes the call's result on the stream. Call it once,
// after the module has stopped.
func (f *forwarder) finish() {
	if f == nil || f.queue == nil {
		return
	}
	close(f.queue)
	<-f.done
}

// inflight are the tool calls running on this node that a client may
// cancel with notifications/cancelled. In stateless mode that notification
// arrives in a request of its own, which the SDK cannot relate to the call
// (each request has its own connection), so Kiln does: by server, caller
// (API key or OAuth token) and JSON-RPC request id. Only the node running
// the call sees it; a cancellation a load balancer sends to another node is
// lost, and the call runs on to its limits (the client has stopped waiting
// anyway). The zero value is ready for use.
type inflight struct {
	mu    sync.Mutex
	calls map[inflightKey][]*inflightCall
}

type inflightKey struct{ server, caller, id string }

type inflightCall struct{ cancel context.CancelFunc }

// add registers a running call; the returned function removes it.
func (c *inflight) add(server, caller string, id json.RawMessage, cancel context.CancelFunc) func() {
	k := inflightKey{server, caller, string(id)}
	call := &inflightCall{cancel}
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[inflightKey][]*inflightCall{}
	}
	c.calls[k] = append(c.calls[k], call)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		list := c.calls[k]
		for i, x := range list {
			if x == call {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(c.calls, k)
		} else {
			c.calls[k] = list
		}
	}
}

// cancel stops the call the notification names. When two running calls of
// one caller share the id (two clients on one key), it cannot tell which
// was meant and cancels neither: a wrong cancellation would lose someone's
// work, a missed one only wastes the rest of a call.
func (c *inflight) cancel(server, caller string, requestID any) bool {
	id, err := json.Marshal(requestID)
	if err != nil || requestID == nil {
		return false
	}
	c.mu.Lock()
	list := c.calls[inflightKey{server, caller, string(id)}]
	var call *inflightCall
	if len(list) == 1 {
		call = list[0]
	}
	c.mu.Unlock()
	if call == nil {
		return false
	}
	call.cancel()
	return true
}

// cancelPeeked cancels the calls a request's notifications/cancelled
// messages name, for the server and caller the request was authenticated
// as. It runs in serveMCP, before the SDK: in stateless mode the SDK
// closes a request's session as soon as it has answered 202 to a body of
// notifications, and drops what its handler had not run yet.
func (h *Host) cancelPeeked(ctx context.Context, d *deployment, caller string, msgs peeked) {
	for _, id := range msgs.cancels {
		if h.calls.cancel(d.srv.ID, caller, id) {
			h.log.DebugContext(ctx, "a client canceled a tool call", "server", d.srv.ID, "request", id)
		}
	}
}
