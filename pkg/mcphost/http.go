package mcphost

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxBodyBytes caps a request body, as the SDK does by default; it is read
// here first to see which methods the request holds.
const maxBodyBytes = mcp.DefaultMaxRequestBodyBytes

// serveMCP is /mcp/{server}: everything Kiln decides about a request
// happens here, in this order, before the SDK sees it:
//
//  1. the server ID has the right shape (else 404);
//  2. the client IP is under its request limit (else 429);
//  3. the Host and Origin headers are not a DNS rebinding attempt (else 403);
//  4. the bearer key is valid, usable and scoped to this server (else 401);
//  5. the server is deployed (loaded now if this node has not yet; else 404);
//  6. X-Kiln-Env-* headers name per-request env vars of the server, within
//     size limits (else 400);
//  7. the body is JSON-RPC as the SDK will read it (else 400, or 413 when
//     too large; see peek.go);
//  8. the server's limit, for each message, and the customer's, for each
//     tool call, are not exceeded (else 429).
//
// A tool call the sandbox has no room for is a 503 (busy.go).
//
// The request then goes to the SDK's stateless handler with the deployment,
// plan, key and env in its context; getServer hands the SDK the
// deployment's *mcp.Server without looking anything up again.
func (h *Host) serveMCP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("server")
	if !auth.ValidServerID(id) {
		writeError(w, http.StatusNotFound, nil, "There is no MCP server at this URL: Kiln serves servers at /mcp/srv_...")
		return
	}
	if !h.allowIP(w, r) {
		return
	}
	if msg := h.rebinding(r); msg != "" {
		writeError(w, http.StatusForbidden, nil, msg)
		return
	}
	key, ok := h.authenticate(w, r, id)
	if !ok {
		return
	}
	d, err := h.ensure(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			h.log.ErrorContext(ctx, "loading a server for a request", "server", id, "error", err)
		}
		writeError(w, http.StatusServiceUnavailable, nil, "The server could not be loaded; try again shortly.")
		return
	}
	if d == nil {
		// The key outlived its server: keys are deleted with it, so this is
		// a race with the deletion.
		writeError(w, http.StatusNotFound, nil, "The server "+id+" does not exist.")
		return
	}
	env, msg := h.requestEnv(r, d)
	if msg != "" {
		writeError(w, http.StatusBadRequest, nil, msg)
		return
	}
	msgs, err := peekMessages(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		var bad *badBodyError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, nil, fmt.Sprintf("The request body is larger than %d bytes.", maxBodyBytes))
		case errors.As(err, &bad):
			writeError(w, http.StatusBadRequest, nil, "The request body is refused: "+bad.msg+".")
		default:
			writeError(w, http.StatusBadRequest, nil, "The request body could not be read.")
		}
		return
	}
	if msgs.messages == 1 {
		ctx = withRPCID(ctx, msgs.id) // for the request's span (trace.go)
	}
	h.cancelPeeked(ctx, d, key.ID, msgs) // notifications/cancelled (notify.go)
	plan, err := h.plans.forCustomer(ctx, d.srv.CustomerID)
	if err != nil {
		h.log.ErrorContext(ctx, "looking up a customer's plan", "server", id, "customer", d.srv.CustomerID, "error", err)
		writeError(w, http.StatusInternalServerError, msgs.id, "Kiln could not look up this server's plan; the failure is logged.")
		return
	}
	if !h.allowPlan(w, r, d, plan, msgs) {
		return
	}
	req := &request{d: d, plan: plan, keyID: key.ID, caller: callerOf(key), tools: key.Tools, env: env, httpCtx: ctx, callID: msgs.callID}
	if msgs.calls != 1 {
		h.mcp.ServeHTTP(w, r.WithContext(withRequest(ctx, req)))
		return
	}
	// One call (runsModule): a 503 if the sandbox has no room for it (busy.go).
	req.busy = newBusyWriter(w)
	h.mcp.ServeHTTP(req.busy, r.WithContext(withRequest(ctx, req)))
	if busy := req.busy.refused(); busy != nil {
		writeBusy(w, msgs.id, busy)
	}
}

// getServer is the SDK's per-request server lookup. serveMCP already chose
// the deployment; a request without one gets nil (a 400 from the SDK).
func (h *Host) getServer(r *http.Request) *mcp.Server {
	req, ok := requestFrom(r.Context())
	if !ok {
		return nil
	}
	return req.d.server
}

// writeError answers with a JSON-RPC error body, which MCP clients show
// (the go-sdk and TypeScript clients read the body of a non-2xx answer).
func writeError(w http.ResponseWriter, status int, id json.RawMessage, msg string) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	code := -32600 // invalid request
	if status >= 500 {
		code = -32603 // internal error
	}
	body, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// callerOf names who calls, for the requestStates of multi-round calls
// (input.go): an API key, or an OAuth token's subject, which stays the
// same when the client refreshes its token between rounds.
func callerOf(key store.APIKey) string {
	if strings.HasPrefix(key.ID, "oauth:") && key.UserID != nil {
		return "user:" + *key.UserID
	}
	return "key:" + key.ID
}
