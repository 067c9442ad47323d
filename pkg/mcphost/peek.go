package mcphost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The rate limits charge what the SDK will run, so the body must be read
// exactly as the SDK reads it. Any other JSON decoder disagrees with it on
// some input: encoding/json matches keys case-insensitively ("Method" is
// "method" to it and not to the SDK), and it refuses trailing bytes after
// the message that the SDK's streaming decoder ignores. A body read one way
// by Kiln and another by the SDK ran uncounted tool calls. So each message
// is decoded as the SDK's own jsonrpc.DecodeMessage decodes it (a request
// of the usual shape by the same decoder without the SDK's buffers,
// decodeMessage in sdkjson.go, anything else by DecodeMessage itself), and
// a body Kiln cannot decode is refused here rather than left to the SDK.

// maxBatchMessages bounds a JSON-RPC batch. Every message of one is checked
// against the limits: the bound keeps that work, and the SDK's, per HTTP
// request small. Clients hardly send batches: MCP has none since revision
// batchesRemoved.
const maxBatchMessages = 32

// batchesRemoved is the protocol revision that dropped JSON-RPC batches.
// As the SDK does, a request that says (in MCP-Protocol-Version) it speaks
// this revision or a later one may not send a batch; one that says
// nothing is taken to speak 2025-03-26, which has them.
const batchesRemoved = "2025-06-18"

// peeked is what Kiln learns of a request's messages before the SDK runs them.
type peeked struct {
	// messages counts the JSON-RPC messages; calls counts those among
	// them that may run the module (runsModule).
	messages, calls int
	// id is the first request's id, for error answers.
	id json.RawMessage
	// callID is the id of the call (runsModule) when it is the body's
	// only message (for notifications/cancelled, notify.go); nil otherwise.
	callID json.RawMessage
	// cancels are the request ids that notifications/cancelled messages
	// name (notify.go).
	cancels []any
}

// badBodyError is a body Kiln refuses; msg says why, to the client.
type badBodyError struct{ msg string }

func (e *badBodyError) Error() string { return "mcphost: request body refused: " + e.msg }

func badBody(format string, args ...any) error {
	return &badBodyError{msg: fmt.Sprintf(format, args...)}
}

// peekMessages reads the body of a POST (putting it back for the SDK) and
// decodes its messages as the SDK will. The error wraps an
// *http.MaxBytesError or another read error, or is a *badBodyError.
func peekMessages(w http.ResponseWriter, r *http.Request) (peeked, error) {
	if r.Method != http.MethodPost || r.Body == nil {
		return peeked{}, nil // the SDK refuses other methods
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return peeked{}, fmt.Errorf("mcphost: reading the request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	msgs, batch, err := decodeMessages(body)
	if err != nil {
		return peeked{}, err
	}
	if v := r.Header.Get("Mcp-Protocol-Version"); batch && v >= batchesRemoved {
		return peeked{}, badBody("it is a batch, and MCP %s has none (batches ended with revision %s)", v, batchesRemoved)
	}
	p := peeked{messages: len(msgs)}
	for _, m := range msgs {
		req, ok := m.(*jsonrpc.Request)
		if !ok {
			continue
		}
		if runsModule(req.Method) {
			p.calls++
		}
		if req.Method == methodCancelled && !req.ID.IsValid() {
			var params struct {
				RequestID any `json:"requestId"`
			}
			if json.Unmarshal(req.Params, &params) == nil && params.RequestID != nil {
				p.cancels = append(p.cancels, params.RequestID)
			}
		}
		if p.id == nil && req.ID.IsValid() {
			p.id, _ = json.Marshal(req.ID.Raw()) // a string or a number
		}
	}
	if p.messages == 1 && p.calls == 1 {
		p.callID = p.id
	}
	return p, nil
}

// methodCallTool is a tool call.
const methodCallTool = "tools/call"

// runsModule reports whether a request of method may run the customer's
// module: a tool call, or the read of a prompt or resource (a dynamic one
// runs the module as a tool call does). Each counts against the plan's
// calls a minute, and alone in a request it can be cancelled and refused
// with a 503 like a tool call; a static prompt or resource counts too,
// since which is which is known only once the SDK routes the request.
func runsModule(method string) bool {
	return method == methodCallTool || method == "prompts/get" || method == "resources/read"
}

// methodCancelled is the notification a client sends to cancel a request.
const methodCancelled = "notifications/cancelled"

// decodeMessages splits a body as the SDK's streamable transport does: an
// array is a batch of messages, anything else one message. Both it and the
// SDK read the first JSON value only, ignoring what follows. Where this
// split and the SDK's might disagree (a body the SDK would read as an array
// and this would not), this refuses the body: DecodeMessage, like the SDK,
// fails on an array.
//
// A body whose first value is an object cannot be an array for any
// decoder, so it skips the attempt at a batch: that attempt scanned the
// whole body only to fail, once here and once more in the SDK, for every
// call (anything else, "null" included, takes the batch path as the SDK's
// does).
func decodeMessages(body []byte) (msgs []jsonrpc.Message, batch bool, _ error) {
	var raws []json.RawMessage
	if startsObject(body) || json.NewDecoder(bytes.NewReader(body)).Decode(&raws) != nil {
		m, err := decodeMessage(body)
		if err != nil {
			return nil, false, badBody("it is not JSON-RPC (%v)", err)
		}
		return []jsonrpc.Message{m}, false, nil
	}
	switch {
	case len(raws) == 0:
		return nil, true, badBody("it is an empty batch")
	case len(raws) > maxBatchMessages:
		return nil, true, badBody("it is a batch of %d messages, more than the %d Kiln accepts", len(raws), maxBatchMessages)
	}
	msgs = make([]jsonrpc.Message, len(raws))
	for i, raw := range raws {
		m, err := decodeMessage(raw)
		if err != nil {
			return nil, true, badBody("message %d of the batch is not JSON-RPC (%v)", i+1, err)
		}
		msgs[i] = m
	}
	return msgs, true, nil
}

// startsObject reports whether the first byte after JSON whitespace is '{'.
func startsObject(body []byte) bool {
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	return i < len(body) && body[i] == '{'
}
