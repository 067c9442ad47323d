package mcphost

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/schemacheck"
)

// A module's requests for input (ABI v2: kiln.elicit, kiln.sample,
// kiln.list_roots) in stateless serving, through MCP 2026-07-28's
// multi-round tool results (SEP-2322). A call cannot wait for the client:
// when the module asks something the call has no answer for, the sandbox
// stops it (OutcomeInputRequired) and the call answers "input_required"
// with the question in inputRequests and a requestState. The client
// retries the same call with inputResponses and that state; the host
// verifies the state and runs the module again from the start. Its
// questions are answered in order: the i-th from the state's i-th recorded
// answer when it was given to the same question (kind, key and document),
// else from the retry's inputResponses by key when the state asked that
// same question at that position (its hash), else the call stops again.
// A first call, without a state, may answer ahead by key.
// A module may ask several questions in one round (deferred requests, ABI
// section 5.7): the result carries all of them. Dynamic prompts and
// resources ask through the same code (inputCall), their state bound to
// "prompt:NAME" or "resource:URI" and their input.
//
// The state carries only answers the client gave (no secret of the
// module's), but it is authenticated (HMAC-SHA256 under a key derived from
// the master key) and bound to the server, the caller, the tool, the
// arguments and an expiry, so that a state cannot be edited, moved to
// another call or kept for later. It is not single-use: replaying it
// within its expiry, by the same caller with the same arguments, runs the
// tool again with answers that caller gave, which the caller could do by
// answering again (see sandbox/RATIONALE.md).

// inputStatePurpose names the key requestStates are authenticated with
// (secrets.Box.DeriveKey).
const inputStatePurpose = "kiln mcp request state v1"

// InputLimits bound the multi-round calls of a module asking for input.
// The zero value means the defaults.
type InputLimits struct {
	// Rounds caps the input-required answers of one call (default 10, the
	// retries go-sdk's client makes).
	Rounds int
	// PerCall caps the requests for input a module makes in one call
	// (default 8).
	PerCall int
	// StateBytes caps a requestState (default 64 KiB): answers the client
	// sent beyond it end the call with a tool error.
	StateBytes int
	// StateTTL is how long a requestState is accepted (default 10 min).
	StateTTL time.Duration
}

func (l InputLimits) withDefaults() InputLimits {
	if l.Rounds <= 0 {
		l.Rounds = 10
	}
	if l.PerCall <= 0 {
		l.PerCall = 8
	}
	if l.StateBytes <= 0 {
		l.StateBytes = 64 << 10
	}
	if l.StateTTL <= 0 {
		l.StateTTL = 10 * time.Minute
	}
	return l
}

// inputState is what a requestState holds.
type inputState struct {
	Server  string           `json:"srv"`
	Caller  string           `json:"who"`
	Tool    string           `json:"tool"`
	Args    string           `json:"args"` // SHA-256 of the arguments
	Expires int64            `json:"exp"`  // Unix seconds, by the store's clock
	Round   int              `json:"round"`
	Answers []*recordedInput `json:"answers"` // by request index
}

// recordedInput is the answer the module got to one request, or, without
// a Response, a question it asked and the client has yet to answer: its
// hash is what the client was shown. (States issued before hashes were
// kept hold null there: asked again.)
type recordedInput struct {
	Hash     string          `json:"h"`
	Response json.RawMessage `json:"r,omitempty"`
}

// pending says the question was asked and not answered.
func (r *recordedInput) pending() bool {
	return len(r.Response) == 0 || string(r.Response) == "null"
}

// invalidParams is the JSON-RPC error a bad retry gets.
func invalidParams(format string, args ...any) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

// argsHash identifies a call's arguments in its state.
func argsHash(args json.RawMessage) string {
	sum := sha256.Sum256(args)
	return hex.EncodeToString(sum[:])
}

// sealState encodes and authenticates a state.
func (h *Host) sealState(s inputState) (string, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("mcphost: encoding a request state: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(h.stateMAC(payload)), nil
}

func (h *Host) stateMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, h.stateKey)
	m.Write(payload)
	return m.Sum(nil)
}

// openState verifies a requestState and that it belongs to this call.
// Every refusal is a JSON-RPC error saying why.
func (h *Host) openState(token string, want inputState) (inputState, error) {
	lim := h.cfg.Inputs.withDefaults()
	if len(token) > lim.StateBytes { // the host issues none larger
		return inputState{}, invalidParams("requestState is larger than any state this server issues")
	}
	enc := base64.RawURLEncoding
	p, m, ok := strings.Cut(token, ".")
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, h.stateMAC(payload)) {
		return inputState{}, invalidParams("requestState failed its integrity check: it was not issued by this server or was changed; make the request again without it")
	}
	var s inputState
	if err := json.Unmarshal(payload, &s); err != nil {
		return inputState{}, invalidParams("requestState cannot be read")
	}
	switch {
	case s.Server != want.Server || s.Caller != want.Caller:
		return inputState{}, invalidParams("requestState was issued to another caller or server; make the request again without it")
	case s.Tool != want.Tool || s.Args != want.Args:
		return inputState{}, invalidParams("requestState was issued for another call (tool, prompt or resource, or arguments differ); make the request again without it")
	case h.store.Now().Unix() > s.Expires:
		return inputState{}, invalidParams("requestState has expired (it is valid for %v); make the request again without it", lim.StateTTL)
	}
	return s, nil
}

// answers implements sandbox.Inputs for one run of a call: the recorded
// answers first, then the retry's inputResponses by key. It notes what it
// gave, for the next state, and why it refused, for the caller.
type answers struct {
	recorded  []*recordedInput
	responses mcp.InputResponseMap
	perCall   int
	round     int              // the rounds before this one
	given     []*recordedInput // by request index
	used      map[string]bool
	err       error  // a response of the wrong kind: a JSON-RPC error
	tooMany   string // the module passed PerCall: a tool error
	// unasked: the call came without a state, so no question was shown;
	// a client answering ahead by key is taken at its word (SEP-2322
	// servers accept such answers; the schema check still applies).
	unasked bool
}

// Answer implements sandbox.Inputs. A question is answered from the
// state's recorded answer at its position when it is the same question
// (its hash), else from the retry's inputResponses only when the state
// asked it at that position and it is still the question the client was
// shown: a module whose question changed between rounds (its clock, random
// or HTTP did) asks again rather than take an answer given to another.
func (a *answers) Answer(q sandbox.InputRequest) (json.RawMessage, bool) {
	if q.Index >= a.perCall {
		a.tooMany = fmt.Sprintf("it asked for input more than %d times in one call", a.perCall)
		return nil, false
	}
	var rec *recordedInput
	if q.Index < len(a.recorded) {
		rec = a.recorded[q.Index]
		if rec == nil || rec.Hash != q.Hash {
			// A state issued before hashes were kept (null), or a
			// different question: what followed no longer applies.
			a.recorded, rec = nil, nil
		}
	}
	if rec != nil && !rec.pending() {
		a.given = append(a.given, rec)
		return rec.Response, true
	}
	resp, ok := a.responses[q.Key]
	if (rec == nil && !a.unasked) || !ok || a.used[q.Key] {
		a.given = append(a.given, &recordedInput{Hash: q.Hash}) // asked, unanswered
		return nil, false
	}
	doc, err := responseFor(q, resp)
	if err != nil {
		a.err = err
		return nil, false
	}
	if a.used == nil {
		a.used = map[string]bool{}
	}
	a.used[q.Key] = true
	a.given = append(a.given, &recordedInput{Hash: q.Hash, Response: doc})
	return doc, true
}

// responseFor checks that a client's response answers the request of its
// key, and encodes it as the module receives it.
func responseFor(q sandbox.InputRequest, resp mcp.InputResponse) (json.RawMessage, error) {
	ok := false
	switch resp.(type) {
	case *mcp.ElicitResult:
		ok = q.Kind == sandbox.InputElicit
	case *mcp.CreateMessageResult, *mcp.CreateMessageWithToolsResult:
		ok = q.Kind == sandbox.InputSample
	case *mcp.ListRootsResult:
		ok = q.Kind == sandbox.InputRoots
	}
	if !ok {
		return nil, invalidParams("inputResponses[%q] does not answer a %s request", q.Key, inputMethod(q.Kind))
	}
	if e, isElicit := resp.(*mcp.ElicitResult); isElicit {
		if err := checkElicitAnswer(q, e); err != nil {
			return nil, err
		}
	}
	doc, err := json.Marshal(resp)
	if err != nil {
		return nil, invalidParams("inputResponses[%q] cannot be encoded: %v", q.Key, err)
	}
	return doc, nil
}

// checkElicitAnswer holds an accepted elicitation's content to the schema
// the module asked with, so that the module gets what it asked for.
func checkElicitAnswer(q sandbox.InputRequest, e *mcp.ElicitResult) error {
	switch e.Action {
	case "accept":
	case "decline", "cancel":
		return nil
	default:
		return invalidParams("inputResponses[%q]: action %q is not accept, decline or cancel", q.Key, e.Action)
	}
	var p struct {
		Schema json.RawMessage `json:"requestedSchema"`
	}
	if err := json.Unmarshal(q.Params, &p); err != nil {
		return fmt.Errorf("mcphost: reading a checked elicitation request: %w", err)
	}
	schema, err := schemacheck.ResolveObject(p.Schema)
	if err != nil {
		return invalidParams("the tool's requested schema for %q cannot check answers: %v", q.Key, err)
	}
	content := map[string]any{}
	if e.Content != nil {
		content = e.Content
	}
	if err := schema.Validate(content); err != nil {
		return invalidParams("inputResponses[%q] does not match the requested schema: %v", q.Key, err)
	}
	return nil
}

// inputMethod is the MCP method of a kind of input request.
func inputMethod(k sandbox.InputKind) string {
	switch k {
	case sandbox.InputElicit:
		return "elicitation/create"
	case sandbox.InputSample:
		return "sampling/createMessage"
	}
	return "roots/list"
}

// inputRequest makes the MCP input request the module asked for.
func inputRequest(q *sandbox.InputRequest) (mcp.InputRequest, error) {
	var v mcp.InputRequest
	switch q.Kind {
	case sandbox.InputElicit:
		v = &mcp.ElicitParams{}
	case sandbox.InputSample:
		v = &mcp.CreateMessageParams{}
	default:
		return &mcp.ListRootsParams{}, nil
	}
	if err := json.Unmarshal(q.Params, v); err != nil {
		return nil, fmt.Errorf("the module's %s request cannot be sent: %w", q.Kind, err)
	}
	if e, ok := v.(*mcp.ElicitParams); ok {
		// Answers are checked against it (checkElicitAnswer).
		raw, _ := json.Marshal(e.RequestedSchema)
		if _, err := schemacheck.ResolveObject(raw); err != nil {
			return nil, fmt.Errorf("its requested schema for %q cannot be used: %w", q.Key, err)
		}
	}
	return v, nil
}

// missingCapability is the SEP-2575 error for a client that did not
// declare what the module's request needs; nil when it did.
func missingCapability(caps *mcp.ClientCapabilities, q *sandbox.InputRequest, what string) error {
	need := &mcp.ClientCapabilities{}
	switch {
	case q.Kind == sandbox.InputElicit && (caps == nil || caps.Elicitation == nil):
		need.Elicitation = &mcp.ElicitationCapabilities{}
	case q.Kind == sandbox.InputSample && (caps == nil || caps.Sampling == nil):
		need.Sampling = &mcp.SamplingCapabilities{}
	case q.Kind == sandbox.InputRoots && (caps == nil || caps.RootsV2 == nil && !caps.Roots.ListChanged):
		need.RootsV2 = &mcp.RootCapabilities{}
	default:
		return nil
	}
	data, _ := json.Marshal(mcp.MissingRequiredClientCapabilityData{RequiredCapabilities: need})
	return &jsonrpc.Error{Code: mcp.CodeMissingRequiredClientCapabilities, Data: data,
		Message: fmt.Sprintf("The %s asks the client for input (%s), which needs the client to declare that capability; this client did not.", what, inputMethod(q.Kind))}
}

// inputCall is a request whose module may ask the client for input: a
// tools/call, or the prompts/get or resources/read of a dynamic prompt or
// resource. The rounds, the state and its checks are the same for all.
type inputCall struct {
	what      string          // in messages: `tool "x"`, `prompt "x"`
	label     string          // what the state is bound to: the tool's name, "prompt:NAME", ...
	args      json.RawMessage // bound by hash
	responses mcp.InputResponseMap
	state     string // the retry's requestState
	// client is the request, asked for its protocol version and the
	// client's capabilities only when the module asks for input: reading
	// the capabilities decodes the request's _meta again, which every
	// other call would pay for nothing.
	client inputClient
}

// inputClient is what an inputCall asks of its request (an
// *mcp.CallToolRequest, *mcp.GetPromptRequest or *mcp.ReadResourceRequest).
type inputClient interface {
	ProtocolVersion() string
	ClientCapabilities() *mcp.ClientCapabilities
}

// toolInput is the inputCall of a tool call.
func toolInput(t *tool, args json.RawMessage, req *mcp.CallToolRequest) inputCall {
	return inputCall{what: fmt.Sprintf("tool %q", t.name), label: t.name, args: args,
		responses: req.Params.InputResponses, state: req.Params.RequestState, client: req}
}

// openInputs reads a call's retry fields: the requestState, verified, and
// the inputResponses. With a state, an answer is taken only for the
// question the state asked at its position; a first call (no state) may
// answer ahead by key, no question having been shown that it could be
// mistaken for.
func (h *Host) openInputs(r *request, c inputCall) (*answers, error) {
	lim := h.cfg.Inputs.withDefaults()
	a := &answers{perCall: lim.PerCall}
	if c.state == "" {
		a.responses, a.unasked = c.responses, true
		return a, nil
	}
	s, err := h.openState(c.state, h.stateFor(r, c))
	if err != nil {
		return nil, err
	}
	a.recorded, a.round, a.responses = s.Answers, s.Round, c.responses
	return a, nil
}

// stateFor is the binding of a call's state: server, caller, tool (or
// prompt, resource), arguments.
func (h *Host) stateFor(r *request, c inputCall) inputState {
	return inputState{Server: r.d.srv.ID, Caller: r.caller, Tool: c.label, Args: argsHash(c.args)}
}

// inputRound answers a call the module stopped with requests for input:
// the input requests to send with the state of the answers so far, or,
// when the client cannot answer or a limit is passed, a refusal (a
// sentence for the caller: a tool error, or for a prompt or resource a
// JSON-RPC error) or a JSON-RPC error.
func (h *Host) inputRound(r *request, c inputCall, qs []sandbox.InputRequest, ans *answers) (mcp.InputRequestMap, string, string, error) {
	lim := h.cfg.Inputs.withDefaults()
	version := c.client.ProtocolVersion()
	switch {
	case ans.err != nil:
		return nil, "", "", ans.err
	case ans.tooMany != "":
		return nil, "", fmt.Sprintf("The %s stopped: %s, the limit of this server.", c.what, ans.tooMany), nil
	case version < multiRoundVersion:
		return nil, "", fmt.Sprintf("The %s asks the client for input (%s), which Kiln can only do with MCP protocol %s "+
			"(multi-round results); this client speaks %s. Use a client that supports %s.",
			c.what, inputMethod(qs[0].Kind), multiRoundVersion, cmp.Or(version, "an older revision"), multiRoundVersion), nil
	case ans.round+1 > lim.Rounds:
		return nil, "", fmt.Sprintf("The %s asked for input in more than %d rounds, the limit of this server.", c.what, lim.Rounds), nil
	}
	reqs := mcp.InputRequestMap{}
	caps := c.client.ClientCapabilities()
	for i := range qs {
		q := &qs[i]
		if err := missingCapability(caps, q, c.what); err != nil {
			return nil, "", "", err
		}
		if _, dup := reqs[q.Key]; dup {
			return nil, "", fmt.Sprintf("The %s stopped: it asked two questions under the key %q in one round.", c.what, q.Key), nil
		}
		ir, err := inputRequest(q)
		if err != nil {
			return nil, "", fmt.Sprintf("The %s stopped: %v.", c.what, err), nil
		}
		reqs[q.Key] = ir
	}
	s := h.stateFor(r, c)
	s.Round, s.Answers = ans.round+1, ans.given
	s.Expires = h.store.Now().Add(lim.StateTTL).Unix()
	token, err := h.sealState(s)
	if err != nil {
		return nil, "", "", err
	}
	if len(token) > lim.StateBytes {
		return nil, "", fmt.Sprintf("The %s stopped: the answers it was given pass the %d byte limit of a request state.", c.what, lim.StateBytes), nil
	}
	return reqs, token, "", nil
}

// inputRequired answers a tool call the module stopped with requests for
// input (inputRound). exec keeps the outcome input_required; its detail
// says what the client was told.
func (h *Host) inputRequired(r *request, c inputCall, qs []sandbox.InputRequest, ans *answers, exec *store.Execution) (*mcp.CallToolResult, error) {
	reqs, token, refusal, err := h.inputRound(r, c, qs, ans)
	switch {
	case err != nil:
		exec.Detail = err.Error()
		return nil, err
	case refusal != "":
		exec.Detail = refusal
		return toolError(refusal), nil
	}
	return &mcp.CallToolResult{InputRequests: reqs, RequestState: token}, nil
}

// multiRoundVersion is the first MCP revision with multi-round tool
// results (SEP-2322).
const multiRoundVersion = "2026-07-28"
