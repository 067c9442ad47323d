package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// InputKind names what a module asked its caller for (ABI v2, section 5.7):
// the user (elicitation), the client's model (sampling) or the client's
// roots.
type InputKind string

// The kinds of input a module can ask for, named as the host functions.
const (
	InputElicit InputKind = "elicit"
	InputSample InputKind = "sample"
	InputRoots  InputKind = "list_roots"
)

// InputRequest is one request for input from a module: its Index-th
// (from 0) in this call.
type InputRequest struct {
	Kind InputKind
	// Key names the request in MCP's inputRequests map: the module's own
	// "key", else "<kind>-<Index+1>".
	Key string
	// Params is the request document without its key: for elicit
	// {"message", "requestedSchema"}, for sample MCP's
	// sampling/createMessage params, for list_roots {}.
	Params json.RawMessage
	// Hash identifies the question (kind, key and document): a recorded
	// answer is given back only to the same question at the same position.
	Hash  string
	Index int
	// Deferred: the module asked with "defer": true (section 5.7): if
	// unanswered, the module goes on and the question is asked with the
	// round's others.
	Deferred bool
}

// Inputs answers a module's requests for input. The sandbox cannot wait
// for a caller (a stateless call returns, and is run again from the start
// with the answers): Answer returns at once, with the answer document the
// module receives, or false to leave the request unanswered: the call stops
// there with OutcomeInputRequired and the request in Result.Input, or,
// for a deferred request (ABI section 5.7), goes on and ends so later. It
// runs on the call's goroutine.
//
// An answer document is MCP's result for the request: for elicit an
// ElicitResult ({"action", "content"}), for sample a CreateMessageResult,
// for list_roots a ListRootsResult ({"roots": [...]}).
type Inputs interface {
	Answer(InputRequest) (json.RawMessage, bool)
}

// Sizes of input requests, in bytes: the document the module hands over,
// and within an elicitation the requested schema (MCP allows only a flat
// object of primitive properties, which is small). A larger one is a
// misuse, a trap: a question is not data to cut.
const (
	MaxInputRequest = 16 << 10
	MaxElicitSchema = 8 << 10
)

// MaxRoundInputs caps the unanswered questions of one call (deferred ones
// and the one that stops it): the host keeps them until the call ends, so
// a module deferring in a loop is stopped with a trap. A host's own
// per-call limit (mcphost.InputLimits.PerCall) is usually lower.
const MaxRoundInputs = 32

// errInputRequired ends a call whose module asked a question Request.Inputs
// does not answer. It is neither the module's failure nor a limit.
var errInputRequired = errors.New("input required")

// inputState is one call's side of the input host functions.
type inputState struct {
	answers Inputs         // Request.Inputs; nil stops at every request
	next    int            // the index of the module's next request
	pending []byte         // an answer input_response has not collected
	asked   []InputRequest // the round's unanswered questions, in order
}

// ask answers the module's next request through Request.Inputs, or
// records it: a deferred one returns 0 and the module goes on, any other
// stops the call with every question recorded so far.
func (in *inputState) ask(kind InputKind, doc []byte) int {
	if in.pending != nil {
		panic(&hostError{fmt.Sprintf("kiln.%s: the previous answer was not read with kiln.input_response", kind)})
	}
	q := newInputRequest(kind, doc, in.next)
	if in.answers != nil {
		if a, ok := in.answers.Answer(q); ok && len(a) > 0 {
			return in.give(a)
		}
	}
	in.next++
	if len(in.asked) >= MaxRoundInputs {
		panic(&hostError{fmt.Sprintf("kiln.%s: more than %d unanswered requests for input in one call", kind, MaxRoundInputs)})
	}
	in.asked = append(in.asked, q)
	if !q.Deferred {
		panic(errInputRequired)
	}
	return 0
}

// give hands the module answer a to collect with kiln.input_response.
func (in *inputState) give(a []byte) int {
	if in.pending != nil {
		panic(&hostError{"kiln.input_response: the previous answer was not read"})
	}
	in.next++
	in.pending = a
	return len(a)
}

// newInputRequest splits the module's key from a checked request document.
func newInputRequest(kind InputKind, doc []byte, index int) InputRequest {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(doc, &fields) // checked by readInputRequest
	key := fmt.Sprintf("%s-%d", kind, index+1)
	if raw, ok := fields["key"]; ok {
		_ = json.Unmarshal(raw, &key)
		delete(fields, "key")
	}
	deferred := false
	if raw, ok := fields["defer"]; ok {
		_ = json.Unmarshal(raw, &deferred)
		delete(fields, "defer") // how to ask, not what: not in the hash
	}
	params, _ := json.Marshal(fields) // raw values re-encode as they were
	if fields == nil {
		params = []byte("{}")
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(kind), []byte(key), params} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return InputRequest{Kind: kind, Key: key, Params: params, Hash: hex.EncodeToString(h.Sum(nil)), Index: index, Deferred: deferred}
}

// readInputRequest reads and checks a module's request document.
func readInputRequest(mod api.Module, kind InputKind, ptr, n uint32) []byte {
	if n > MaxInputRequest {
		panic(&hostError{fmt.Sprintf("kiln.%s: request document of %d bytes exceeds %d", kind, n, MaxInputRequest)})
	}
	doc := []byte("{}")
	if n > 0 || kind != InputRoots {
		doc = readGuest(mod, string(kind), ptr, n)
	}
	if err := checkInputRequest(kind, doc); err != nil {
		panic(&hostError{fmt.Sprintf("kiln.%s: %v", kind, err)})
	}
	return doc
}

// checkInputRequest holds a request document to what MCP clients can
// read, so that what reaches the client is a well-formed request.
func checkInputRequest(kind InputKind, doc []byte) error {
	if err := checkFieldCase(kind, doc); err != nil {
		return err
	}
	var k struct {
		Key   *string         `json:"key"`
		Defer json.RawMessage `json:"defer"`
	}
	if err := json.Unmarshal(doc, &k); err != nil {
		return errors.New("the request is not a JSON object")
	}
	if k.Defer != nil && string(k.Defer) != "true" && string(k.Defer) != "false" {
		return errors.New(`"defer" must be true or false`)
	}
	if k.Key != nil && !validInputKey(*k.Key) {
		return fmt.Errorf("key %q is not 1-64 letters, digits, '_', '-' or '.'", *k.Key)
	}
	switch kind {
	case InputElicit:
		var e struct {
			Key     string          `json:"key"`
			Defer   bool            `json:"defer"`
			Message string          `json:"message"`
			Schema  json.RawMessage `json:"requestedSchema"`
		}
		if err := strictJSON(doc, &e); err != nil || e.Message == "" {
			return errors.New(`the request is not a JSON object {"message": string, "requestedSchema": object}`)
		}
		if len(e.Schema) > MaxElicitSchema {
			return fmt.Errorf("requestedSchema of %d bytes exceeds %d", len(e.Schema), MaxElicitSchema)
		}
		var s struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(e.Schema, &s) != nil || s.Type != "object" {
			return errors.New(`requestedSchema must be a JSON Schema {"type": "object", "properties": {...}}`)
		}
	case InputSample:
		var p struct {
			Messages  []json.RawMessage `json:"messages"`
			MaxTokens *int64            `json:"maxTokens"`
		}
		if json.Unmarshal(doc, &p) != nil || len(p.Messages) == 0 || p.MaxTokens == nil || *p.MaxTokens <= 0 {
			return errors.New(`the request is not MCP sampling/createMessage params with "messages" and a positive "maxTokens"`)
		}
	}
	return nil
}

// inputFields are the top-level fields of a kind's request document that
// the check and newInputRequest read.
func inputFields(kind InputKind) []string {
	switch kind {
	case InputElicit:
		return []string{"key", "defer", "message", "requestedSchema"}
	case InputSample:
		return []string{"key", "defer", "messages", "maxTokens"}
	}
	return []string{"key", "defer"}
}

// checkFieldCase refuses a top-level field named as a known one but for
// case ("KEY", "Defer"): encoding/json's structs read it as the known
// field, the exact reading of newInputRequest and MCP clients do not, so
// the check and the use would disagree on the question.
func checkFieldCase(kind InputKind, doc []byte) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(doc, &fields) != nil {
		return errors.New("the request is not a JSON object")
	}
	names := inputFields(kind)
	for name := range fields {
		for _, known := range names {
			if name != known && strings.EqualFold(name, known) {
				return fmt.Errorf("field %q must be spelled %q", name, known)
			}
		}
	}
	return nil
}

// strictJSON decodes one JSON object into v, refusing unknown fields.
func strictJSON(doc []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// hostElicit is kiln.elicit(ptr, len) -> i32: asks the user. It returns the
// length of the answer document, which the module copies with
// kiln.input_response, or stops the call for the question to be asked.
func hostElicit(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	doc := readInputRequest(mod, InputElicit, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	stack[0] = api.EncodeU32(uint32(s.askInput(InputElicit, doc)))
}

// hostSample is kiln.sample(ptr, len) -> i32: asks the client's model, as
// kiln.elicit asks the user.
func hostSample(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	doc := readInputRequest(mod, InputSample, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	stack[0] = api.EncodeU32(uint32(s.askInput(InputSample, doc)))
}

// hostListRoots is kiln.list_roots(ptr, len) -> i32: asks for the client's
// roots; the document ({"key": ...}, or len 0) only names the request.
func hostListRoots(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	doc := readInputRequest(mod, InputRoots, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	stack[0] = api.EncodeU32(uint32(s.askInput(InputRoots, doc)))
}

// validInputKey: a key is a short name, safe in logs and JSON.
func validInputKey(k string) bool {
	if len(k) == 0 || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// hostInputResponse is kiln.input_response(ptr): copies the pending answer.
func hostInputResponse(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	ptr := api.DecodeU32(stack[0])
	if s.questions.pending == nil {
		panic(&hostError{"kiln.input_response: no answer is pending"})
	}
	if !mod.Memory().Write(ptr, s.questions.pending) {
		panic(&hostError{fmt.Sprintf("kiln.input_response: range [%d, %d) is outside memory", ptr, uint64(ptr)+uint64(len(s.questions.pending)))})
	}
	s.questions.pending = nil
}
