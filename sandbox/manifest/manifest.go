// Package manifest reads, checks and embeds the kiln.manifest custom section
// through which a tool module describes its tools (see toolkits/ABI.md).
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// SectionName is the name of the custom section holding the manifest.
const SectionName = "kiln.manifest"

// ABIVersion is the only ABI version this host implements.
const ABIVersion = 1

// PlainToolName is the single tool a module without a manifest offers.
const PlainToolName = "main"

// MaxSize caps the manifest section: manifests are read on every upload.
const MaxSize = 256 << 10

// Manifest is the decoded kiln.manifest section.
type Manifest struct {
	ABI    int      `json:"abi"`
	Tools  []Tool   `json:"tools"`
	Env    []EnvVar `json:"env,omitempty"`
	Egress []string `json:"egress,omitempty"`
	// Plain is true for a WASI command module without a manifest: it offers
	// one tool, "main", that reads JSON on stdin and writes its result to
	// stdout. It is never serialized.
	Plain bool `json:"-"`
}

// Tool describes one tool.
type Tool struct {
	Name         string          `json:"name"`
	Title        string          `json:"title,omitempty"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
}

// EnvVar declares an environment variable the module reads.
type EnvVar struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Secret      bool   `json:"secret,omitempty"`
	PerRequest  bool   `json:"perRequest,omitempty"`
}

// Error describes a manifest that breaks the ABI. Modules carrying one are
// rejected when loaded.
type Error struct{ Reason string }

func (e *Error) Error() string { return "manifest: " + e.Reason }

func invalid(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Plain returns the manifest of a module that has no kiln.manifest section.
func Plain() *Manifest {
	return &Manifest{ABI: ABIVersion, Plain: true, Tools: []Tool{{
		Name:        PlainToolName,
		Description: "Runs the program: arguments arrive as JSON on stdin, stdout is the result.",
		InputSchema: json.RawMessage(`{"type":"object"}`),
	}}}
}

// Parse decodes and validates a manifest. Unknown fields are an error: a
// field this host does not understand may change what the module needs.
func Parse(data []byte) (*Manifest, error) {
	if len(data) > MaxSize {
		return nil, invalid("section is %d bytes, more than the %d allowed", len(data), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, invalid("not a valid manifest document: %v", err)
	}
	if dec.More() {
		return nil, invalid("trailing data after the JSON document")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

var (
	toolNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	envNamePattern  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)
	hostPattern     = regexp.MustCompile(`^(https?://)?(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$`)
)

// Validate checks the manifest against ABI version 1.
func (m *Manifest) Validate() error {
	if m.ABI != ABIVersion {
		return invalid("abi version %d is not supported (this host implements %d)", m.ABI, ABIVersion)
	}
	if len(m.Tools) == 0 {
		return invalid("no tools declared")
	}
	if len(m.Tools) > 256 {
		return invalid("%d tools declared, at most 256 are allowed", len(m.Tools))
	}
	seen := map[string]bool{}
	for i, t := range m.Tools {
		if !toolNamePattern.MatchString(t.Name) {
			return invalid("tools[%d]: name %q must be 1-64 characters of A-Z a-z 0-9 _ . -", i, t.Name)
		}
		if seen[t.Name] {
			return invalid("tool %q is declared twice", t.Name)
		}
		seen[t.Name] = true
		if err := checkObjectSchema(t.InputSchema, true); err != nil {
			return invalid("tool %q: inputSchema %v", t.Name, err)
		}
		if err := checkObjectSchema(t.OutputSchema, false); err != nil {
			return invalid("tool %q: outputSchema %v", t.Name, err)
		}
	}
	seenEnv := map[string]bool{}
	for i, e := range m.Env {
		if !envNamePattern.MatchString(e.Name) {
			return invalid("env[%d]: name %q must match %s", i, e.Name, envNamePattern)
		}
		if strings.HasPrefix(e.Name, "KILN_") {
			return invalid("env %q: the KILN_ prefix is reserved for the host", e.Name)
		}
		if seenEnv[e.Name] {
			return invalid("env %q is declared twice", e.Name)
		}
		seenEnv[e.Name] = true
	}
	for i, h := range m.Egress {
		if !hostPattern.MatchString(h) {
			return invalid("egress[%d]: %q is not a host name pattern such as api.example.com, *.example.com or https://api.example.com:8443", i, h)
		}
	}
	return nil
}

// checkObjectSchema requires a JSON Schema object whose type is "object", as
// MCP requires of tool schemas.
func checkObjectSchema(raw json.RawMessage, required bool) error {
	if len(raw) == 0 {
		if required {
			return errors.New("is missing")
		}
		return nil
	}
	var s struct {
		Type any `json:"type"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return errors.New("must be a JSON object")
	}
	if s.Type != "object" {
		return errors.New(`must have "type": "object"`)
	}
	return nil
}

// Tool returns the named tool's declaration.
func (m *Manifest) Tool(name string) (Tool, bool) {
	for _, t := range m.Tools {
		if t.Name == name {
			return t, true
		}
	}
	return Tool{}, false
}

// EnvVar returns the named env var's declaration.
func (m *Manifest) EnvVar(name string) (EnvVar, bool) {
	for _, e := range m.Env {
		if e.Name == name {
			return e, true
		}
	}
	return EnvVar{}, false
}
