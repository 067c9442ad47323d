package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/kilnhq/kiln/sandbox/schemacheck"
)

// Arguments are checked here, against the tool's input schema, and nowhere
// else on the host: every front end (mcphost, `kiln run`, the wizard's
// sample and playground calls) passes through Engine.Call, so each gets
// the same answer, and a module never starts for arguments its own schema
// refuses.

// inputSchemas holds a module's input schemas, resolved on a tool's first
// call and kept with the module.
type inputSchemas struct {
	mu    sync.Mutex
	tools map[string]resolvedSchema
}

type resolvedSchema struct {
	schema *schemacheck.Schema
	err    error
}

// schemaError: the tool's input schema does not resolve, so no call of it
// can be checked (OutcomeBadModule).
type schemaError struct{ err error }

func (e *schemaError) Error() string {
	return "the tool's input schema does not resolve: " + e.err.Error()
}

// input returns the tool's resolved input schema.
func (m *Module) input(tool string, raw json.RawMessage) (resolvedSchema, error) {
	s := &m.inputs
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.tools[tool]; ok {
		return r, r.err
	}
	var r resolvedSchema
	var err error
	if r.schema, err = schemacheck.Parse(raw); err != nil {
		r.err = &schemaError{err}
	}
	if s.tools == nil {
		s.tools = map[string]resolvedSchema{}
	}
	s.tools[tool] = r
	return r, r.err
}

// checkArguments returns the arguments to pass on stdin ({} for none), or
// a *RequestError with Arguments set saying what is wrong with them, or a
// *schemaError.
func (m *Module) checkArguments(tool string, schema json.RawMessage, args []byte) ([]byte, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		args = []byte("{}")
	}
	var v any
	if err := json.Unmarshal(args, &v); err != nil {
		return nil, &RequestError{Arguments: true, Reason: fmt.Sprintf("the arguments are not valid JSON (%v)", err)}
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, &RequestError{Arguments: true, Reason: "the arguments must be a JSON object"}
	}
	resolved, err := m.input(tool, schema)
	if err != nil {
		return nil, err
	}
	if err := resolved.schema.Validate(v); err != nil {
		return nil, &RequestError{Arguments: true, Reason: fmt.Sprintf("the arguments do not match the input schema of tool %q: %v", tool, err)}
	}
	return args, nil
}
