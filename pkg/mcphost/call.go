package mcphost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// request is what the HTTP layer established about a request before the
// SDK saw it: who is calling, on which plan, with which per-request env.
// The tool handler reads it from the context.
type request struct {
	d     *deployment
	plan  tier.Plan
	keyID string
	// caller is who calls, as multi-round states are bound to it
	// (callerOf).
	caller string
	// tools are the only tools the caller may list and call (a server
	// key's tool list, an access token's mcp:tool: scopes); empty: all.
	tools store.StringList
	// env holds the validated X-Kiln-Env-* values.
	env map[string]string
	// httpCtx is the HTTP request's context: when the client goes away it
	// ends, and the module's call with it, whatever the SDK does with its
	// own contexts.
	httpCtx context.Context
	// busy holds the SDK's answer to a request with one tool call, to turn
	// it into a 503 if the sandbox has no room for the call (busy.go); nil
	// for other requests.
	busy *busyWriter
	// callID is the JSON-RPC id of the request's tool call when the
	// request holds that call alone: notifications/cancelled names it
	// (notify.go). Nil otherwise.
	callID json.RawMessage
}

type requestKey struct{}

func withRequest(ctx context.Context, r *request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

func requestFrom(ctx context.Context) (*request, bool) {
	r, ok := ctx.Value(requestKey{}).(*request)
	return r, ok
}

// logsJSON is the execution log's copy of what the module logged: its log
// lines and messages, then its console output as one "console" entry, and
// a "host" entry counting the notifications that limits or a slow client
// dropped (unsent, a slow client's queue full).
func logsJSON(res sandbox.Result, unsent int) store.JSON {
	entries := res.Logs
	if res.Console != "" {
		entries = append(entries[:len(entries):len(entries)], sandbox.LogEntry{Level: "console", Message: res.Console})
	}
	if dropped := res.Notifications.Dropped + unsent; dropped > 0 {
		entries = append(entries[:len(entries):len(entries)], sandbox.LogEntry{Level: "host",
			Message: fmt.Sprintf("%d of the tool's %d progress reports and log messages were not sent: the limits per call, or a client reading too slowly",
				dropped, res.Notifications.Sent+res.Notifications.Dropped)})
	}
	if len(entries) == 0 {
		return nil
	}
	b, err := json.Marshal(entries)
	if err != nil { // strings and a fixed struct: cannot fail
		return nil
	}
	return store.JSON(b)
}

// recordTimeout bounds one execution log write, which runs even when the
// client has gone.
const recordTimeout = 5 * time.Second

// toolHandler runs one tool of one deployment.
func (h *Host) toolHandler(d *deployment, t *tool) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		r, ok := requestFrom(ctx)
		if !ok || r.d != d {
			// Only serveMCP routes requests to the SDK, and it always sets
			// the request for the deployment it chose.
			return nil, errors.New("mcphost: tool call without its request context")
		}
		ctx, done := h.cancellable(ctx, r)
		defer done()
		return h.call(ctx, r, t, req)
	}
}

// cancellable is the context of a call that runs a module (a tool, or a
// dynamic prompt or resource): it ends when the client goes away, and when
// the client cancels the call by its id (notifications/cancelled). done
// releases it.
func (h *Host) cancellable(ctx context.Context, r *request) (_ context.Context, done func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.httpCtx, cancel)
	forget := func() {}
	if r.callID != nil {
		forget = h.calls.add(r.d.srv.ID, r.keyID, r.callID, cancel)
	}
	return ctx, func() { forget(); stop(); cancel() }
}

// call validates, runs and records one tool call.
func (h *Host) call(ctx context.Context, r *request, t *tool, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	exec := store.Execution{
		CustomerID: r.d.srv.CustomerID, ServerID: r.d.srv.ID, ToolName: t.name,
		ModuleHash: t.module.Hash, Actor: "key:" + r.keyID, StartedAt: h.store.Now(),
	}
	args := req.Params.Arguments
	if len(bytes.TrimSpace(args)) == 0 || bytes.Equal(bytes.TrimSpace(args), []byte("null")) {
		args = json.RawMessage("{}")
	}
	if r.d.recordPayloads && json.Valid(args) {
		exec.Arguments = store.JSON(args)
	}
	ans, err := h.openInputs(r, toolInput(t, args, req))
	if err != nil {
		return nil, err // a requestState refused: not an execution
	}
	result, err := h.run(ctx, r, t, args, req, &exec, ans)
	var busy *sandbox.BusyError
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) {
		// The call stopped for input the client cannot give this way.
		h.record(&exec)
		return nil, err
	}
	if errors.As(err, &busy) {
		// Not an execution: the module never started.
		return toolError(h.refusal(r, busy)), nil
	}
	if err != nil {
		h.log.ErrorContext(ctx, "tool call failed in the host", "server", r.d.srv.ID, "tool", t.name, "error", err)
		exec.Outcome = "host_error"
		h.record(&exec)
		return nil, fmt.Errorf("the Kiln host could not run tool %q; the failure is logged", t.name)
	}
	if r.d.recordPayloads {
		if b, err := json.Marshal(result); err == nil {
			exec.Result = store.JSON(b)
		}
	}
	h.record(&exec)
	return result, nil
}

// refusal words a call the sandbox had no room for: a 503 when the
// request held only this call and its answer has not begun (the SDK's
// answer is then dropped and serveMCP answers 503 with Retry-After), else
// a sentence saying when to retry, as a tool error or a JSON-RPC error.
func (h *Host) refusal(r *request, busy *sandbox.BusyError) string {
	h.log.DebugContext(r.httpCtx, "call refused: the sandbox is busy", "server", r.d.srv.ID, "resource", busy.Resource)
	if r.busy != nil && r.busy.refuse(busy) {
		return "busy" // dropped
	}
	return fmt.Sprintf("This Kiln node is running as many calls as it can (%s); retry in %v.",
		busy.Resource, busy.RetryAfter.Round(time.Second))
}

// run does the call and fills exec's outcome and costs. An error is a
// failure of the host, not of the tool or its caller.
func (h *Host) run(ctx context.Context, r *request, t *tool, args json.RawMessage, req *mcp.CallToolRequest, exec *store.Execution, ans *answers) (*mcp.CallToolResult, error) {
	fw := newForwarder(ctx, req, t.name)
	res, err := h.execute(ctx, r, t, args, ans, fw, exec)
	var missing *missingEnvError
	if errors.As(err, &missing) {
		exec.Outcome, exec.Detail = sandbox.OutcomeToolError.String(), missing.message(t.name)
		return toolError(exec.Detail), nil
	}
	var refused *sandbox.RequestError
	if errors.As(err, &refused) && refused.Arguments {
		// Checked against the input schema by the sandbox, before the
		// module started: the agent can correct them.
		exec.Outcome, exec.Detail = sandbox.OutcomeToolError.String(), argumentsMessage(t.name, refused)
		return toolError(exec.Detail), nil
	}
	if err != nil {
		return nil, err
	}
	if res.Outcome == sandbox.OutcomeInputRequired {
		h.forwardLogs(ctx, r, req.Session, res.Logs)
		return h.inputRequired(r, toolInput(t, args, req), res.Input, ans, exec)
	}
	if res.Outcome != sandbox.OutcomeOK && res.Outcome != sandbox.OutcomeToolError {
		h.log.InfoContext(ctx, "tool call stopped", "server", r.d.srv.ID, "tool", t.name, "outcome", res.Outcome, "detail", res.Detail)
	}
	h.forwardLogs(ctx, r, req.Session, res.Logs)
	out, err := toMCPResult(res, t, r.plan)
	if err != nil {
		// The sandbox checked the document; what it let through, the SDK
		// could not read. Report it as the module's fault.
		exec.Outcome = sandbox.OutcomeTrap.String()
		exec.Detail = fmt.Sprintf("The tool %q returned a result Kiln cannot pass on: %v.", t.name, err)
		return toolError(exec.Detail), nil
	}
	if msg := checkOutput(t, out); msg != "" {
		exec.Outcome, exec.Detail = sandbox.OutcomeToolError.String(), msg
		return toolError(msg), nil
	}
	return out, nil
}

// execute runs one call of a module in the sandbox, a tool's or a dynamic
// prompt's or resource's, the same way: the server's env and network, the
// plan's limits, the caller's answers to the module's questions, progress
// and log messages through fw (nil: none), the call's recording when the
// server records payloads; and fills exec with what the sandbox measured.
// Its errors are a *missingEnvError, the sandbox's (a *sandbox.BusyError,
// a *sandbox.RequestError) or the host's failure.
func (h *Host) execute(ctx context.Context, r *request, t *tool, args json.RawMessage, ans *answers, fw *forwarder, exec *store.Execution) (sandbox.Result, error) {
	sreq, secrets, err := h.sandboxRequest(r, t, args)
	if err != nil {
		return sandbox.Result{}, err
	}
	sreq.Inputs = ans
	h.startRecording(r.d, &sreq) // recording.go
	if fw != nil {
		sreq.Notify = fw
	}
	res, err := h.engine.Call(ctx, t.module, sreq)
	fw.finish()
	if err != nil {
		return res, fmt.Errorf("mcphost: running %s: %w", t.name, err)
	}
	if exec.Recording, err = h.recordingJSON(r.d.srv.ID, sreq, secrets); err != nil {
		h.log.ErrorContext(ctx, "the call's recording is not kept", "server", r.d.srv.ID, "tool", t.name, "error", err)
	}
	unsent := 0
	if fw != nil {
		unsent = fw.dropped
	}
	fillExecution(exec, res, unsent)
	return res, nil
}

// sandboxRequest is the sandbox's request for a call of t: its env and
// secrets (also returned, by name, for the call's recording), the plan's
// limits and the server's network policy. A
// *missingEnvError when a required env var has no value.
func (h *Host) sandboxRequest(r *request, t *tool, args json.RawMessage) (sandbox.Request, []egress.Secret, error) {
	env, secrets, err := h.callEnv(r, t)
	if err != nil {
		return sandbox.Request{}, nil, err
	}
	sreq := sandbox.Request{
		Tool: t.moduleTool, Args: args, Env: env,
		Limits: sandbox.Limits{
			Fuel: uint64(r.plan.Fuel), Memory: uint64(r.plan.MemoryBytes), Timeout: r.plan.Timeout,
			OutputBytes: int(r.plan.OutputBytes), LogBytes: h.cfg.LogBytes,
		},
	}
	if r.plan.HTTPRequestsPerCall > 0 {
		policy := h.cfg.Egress
		policy.Allow = r.d.allow
		policy.MaxRequests = r.plan.HTTPRequestsPerCall
		sreq.Network = &sandbox.Network{Policy: policy, Secrets: secrets, Options: h.cfg.EgressOptions}
	}
	return sreq, secrets, nil
}

// fillExecution copies what the sandbox measured into the execution row.
func fillExecution(exec *store.Execution, res sandbox.Result, unsent int) {
	exec.Outcome = res.Outcome.String()
	exec.FuelUsed = int64(min(res.FuelUsed, 1<<63-1))
	exec.MemoryPeak = int64(min(res.PeakMemory, 1<<63-1))
	exec.Duration = res.Duration
	exec.Detail = res.Detail
	exec.Logs = logsJSON(res, unsent)
}

// missingEnvError: a required env var has no value for this call.
type missingEnvError struct {
	name       string
	perRequest bool
}

func (e *missingEnvError) Error() string { return "env var " + e.name + " has no value" }

func (e *missingEnvError) message(tool string) string {
	msg := fmt.Sprintf("The tool %q needs the setting %s, which has no value on this server: the server's owner can set it in Kiln", tool, e.name)
	if e.perRequest {
		msg += fmt.Sprintf(", or the client can send it in the X-Kiln-Env-%s header", e.name)
	}
	return msg + "."
}

// callEnv assembles what the module gets: plain env vars it declares, and
// secrets, which never enter the module but are substituted by the host
// into requests to their hosts. A value sent in an X-Kiln-Env-* header
// (checked in serveMCP) wins over the stored one.
func (h *Host) callEnv(r *request, t *tool) (map[string]string, []egress.Secret, error) {
	man := t.module.Manifest
	values := map[string]string{}
	for _, e := range man.Env {
		if sealed, ok := r.d.sealed[e.Name]; ok {
			plain, err := h.cfg.Secrets.Open(sealed, h.cfg.EnvAssociatedData(r.d.srv.ID, e.Name))
			if err != nil {
				return nil, nil, fmt.Errorf("mcphost: opening env var %s of server %s: %w", e.Name, r.d.srv.ID, err)
			}
			values[e.Name] = string(plain)
		}
		if v, ok := r.env[e.Name]; ok && e.PerRequest {
			values[e.Name] = v
		}
	}
	env := map[string]string{}
	var secrets []egress.Secret
	for _, e := range man.Env {
		v, ok := values[e.Name]
		if !ok {
			if e.Required {
				return nil, nil, &missingEnvError{name: e.Name, perRequest: e.PerRequest}
			}
			continue
		}
		if e.Secret || r.d.envDecl[e.Name].Secret {
			secrets = append(secrets, egress.Secret{Name: e.Name, Value: v, Hosts: r.d.secretHosts[e.Name]})
			continue
		}
		env[e.Name] = v
	}
	return env, secrets, nil
}

// record writes the call's execution row, in a transaction shared with
// the calls that finish at the same time (execlog.go), before the call
// answers. A call the client gave up on is still a call.
func (h *Host) record(exec *store.Execution) {
	if exec.Duration == 0 {
		exec.Duration = time.Since(exec.StartedAt)
	}
	if h.cfg.Observer != nil {
		h.cfg.Observer.Execution(exec)
	}
	h.execs.add(exec)
}

// mcpLevels maps the ABI's log levels to MCP's.
var mcpLevels = map[string]mcp.LoggingLevel{"debug": "debug", "info": "info", "warn": "warning", "error": "error"}

// forwardLogs sends the module's log lines (kiln.log, ABI v1) to the
// client as MCP log notifications, after the call and ahead of the result,
// at or above the level the client asked for (the SDK filters). Log
// messages (ABI v2) went out while the call ran (notify.go).
func (h *Host) forwardLogs(ctx context.Context, r *request, session *mcp.ServerSession, logs []sandbox.LogEntry) {
	if len(logs) == 0 || session == nil {
		return
	}
	for _, l := range logs {
		if l.Live {
			continue
		}
		level, ok := mcpLevels[l.Level]
		if !ok {
			level = "info"
		}
		if err := session.Log(ctx, &mcp.LoggingMessageParams{Level: level, Logger: r.d.srv.Name, Data: l.Message}); err != nil {
			return // the client is gone; the result will not reach it either
		}
	}
}
