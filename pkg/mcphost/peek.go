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
// is decoded by the SDK's own jsonrpc.DecodeMessage, and a body Kiln cannot
// decode is refused here rather than left to the SDK.

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
	// messages counts the JSON-RPC messages; calls counts the tools/call
	// requests among them.
	messages, calls int
	// id is the first request's id, for error answers.
	id json.RawMessage
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
		if req.Method == methodCallTool {
			p.calls++
		}
		if p.id == nil && req.ID.IsValid() {
			p.id, _ = json.Marshal(req.ID.Raw()) // a string or a number
		}
	}
	return p, nil
}

// methodCallTool is the one method the customer's limit counts.
const methodCallTool = "tools/call"

// decodeMessages splits a body as the SDK's streamable transport does: an
// array is a batch of messages, anything else one message. Both it and the
// SDK read the first JSON value only, ignoring what follows. Where this
// split and the SDK's might disagree (a body the SDK would read as an array
// and this would not), this refuses the body: DecodeMessage, like the SDK,
// fails on an array.
func decodeMessages(body []byte) (msgs []jsonrpc.Message, batch bool, _ error) {
	var raws []json.RawMessage
	if json.NewDecoder(bytes.NewReader(body)).Decode(&raws) != nil {
		m, err := jsonrpc.DecodeMessage(body)
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
		m, err := jsonrpc.DecodeMessage(raw)
		if err != nil {
			return nil, true, badBody("message %d of the batch is not JSON-RPC (%v)", i+1, err)
		}
		msgs[i] = m
	}
	return msgs, true, nil
}
