// Package schemacheck validates JSON values against JSON Schemas exactly as
// github.com/google/jsonschema-go does, quickly for schemas of the common
// shape. The sandbox checks every call's arguments against the tool's
// input schema, and mcphost every structured result against its output
// schema; on a trivial call the full validator's reflection and
// annotations cost more than the rest of the host's work around the
// module, so both go through this package:
//
//	s, err := schemacheck.Resolve(&schema) // once per tool
//	...
//	var v any
//	_ = json.Unmarshal(doc, &v)
//	if err := s.Validate(v); err != nil { // per call
//		// err is the full validator's, naming what does not match
//	}
//
// A schema of the common shape (the one the Go toolkit writes: typed
// properties, required, additionalProperties, items, string enums,
// minimum, annotations) is also compiled to a check that only ever
// accepts (fast.go). A value it cannot vouch for goes to the full
// validator, which gives the verdict and the message, so the two cannot
// disagree about what is refused.
package schemacheck

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
)

// Schema is a resolved schema, ready to validate against.
type Schema struct {
	full *jsonschema.Resolved
	fast *fastSchema // nil when the schema is not of the common shape
}

// versions are the $schema values jsonschema-go validates with (its
// Resolved.Validate refuses every value under any other, whatever the
// schema says). TestVersionsAreTheValidators holds the list to it.
var versions = map[string]bool{
	"": true, "http://json-schema.org/draft-07/schema#": true,
	"https://json-schema.org/draft-07/schema#": true, "https://json-schema.org/draft/2020-12/schema": true,
}

// Resolve resolves s without a loader: a $ref to anything outside the
// schema fails rather than making the host fetch it. A schema of a
// version the validator does not know (draft-04, say) is refused here,
// rather than having every value refused later.
func Resolve(s *jsonschema.Schema) (*Schema, error) {
	if !versions[s.Schema] {
		return nil, fmt.Errorf("$schema %q is not a version Kiln validates with (draft-07 or 2020-12)", s.Schema)
	}
	full, err := s.Resolve(nil)
	if err != nil {
		return nil, err
	}
	return &Schema{full: full, fast: compileFast(s)}, nil
}

// Parse parses raw as a JSON Schema and resolves it.
func Parse(raw json.RawMessage) (*Schema, error) {
	s, err := unmarshal(raw)
	if err != nil {
		return nil, err
	}
	return Resolve(s)
}

// unmarshal reads raw as a JSON Schema, for Parse and ResolveObject.
func unmarshal(raw json.RawMessage) (*jsonschema.Schema, error) {
	s := new(jsonschema.Schema)
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("not a JSON Schema: %w", err)
	}
	return s, nil
}

// Validate returns nil if v (as encoding/json decodes into an any) is
// valid, or the full validator's error saying what does not match.
func (s *Schema) Validate(v any) error {
	if s.fast != nil && s.fast.accepts(v) {
		return nil
	}
	return s.full.Validate(v)
}

// ResolveObject parses raw as a JSON Schema whose type is "object" (what
// MCP requires of a tool's input and output schemas, and of an
// elicitation's requested schema) and resolves it; the error is a sentence
// saying what is wrong with it.
func ResolveObject(raw json.RawMessage) (*Schema, error) {
	s, err := unmarshal(raw)
	if err != nil {
		return nil, err
	}
	if s.Type != "object" {
		return nil, errors.New(`the schema's type must be "object"`)
	}
	r, err := Resolve(s)
	if err != nil {
		return nil, fmt.Errorf("the schema does not resolve: %w", err)
	}
	return r, nil
}
