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
	"unicode"
)

// SectionName is the name of the custom section holding the manifest.
const SectionName = "kiln.manifest"

// ABI versions this host implements (toolkits/ABI.md): a manifest's abi
// field must be one of them. Version 2 adds tool annotations, prompts and
// resources to the manifest, and host functions for progress and log
// notifications.
const (
	MinABIVersion = 1
	ABIVersion    = 2 // the newest
)

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
	// Prompts, Resources and ResourceTemplates (ABI 2) are what the module
	// offers beside its tools (catalog.go).
	Prompts           []Prompt           `json:"prompts,omitempty"`
	Resources         []Resource         `json:"resources,omitempty"`
	ResourceTemplates []ResourceTemplate `json:"resourceTemplates,omitempty"`
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
	// Annotations are MCP's hints about the tool's behaviour (ABI 2).
	Annotations *Annotations `json:"annotations,omitempty"`
}

// Annotations are MCP's ToolAnnotations: hints for the client (whether to
// ask the user before a call, say), never guarantees. The types follow the
// go-sdk's mcp.ToolAnnotations: a hint whose MCP default is true is a
// pointer, so that an absent hint keeps its default.
type Annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    bool   `json:"readOnlyHint,omitempty"`    // default false
	DestructiveHint *bool  `json:"destructiveHint,omitempty"` // default true
	IdempotentHint  bool   `json:"idempotentHint,omitempty"`  // default false
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`   // default true
}

// MaxTitle caps a tool's title and its annotations' title, in bytes: a
// title is a short label that clients show in a list.
const MaxTitle = 256

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
	return &Manifest{ABI: MinABIVersion, Plain: true, Tools: []Tool{{
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

// Validate checks the manifest against its ABI version.
func (m *Manifest) Validate() error {
	if m.ABI < MinABIVersion || m.ABI > ABIVersion {
		return invalid("abi version %d is not supported (this host implements %d to %d)", m.ABI, MinABIVersion, ABIVersion)
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
		if err := m.checkTitles(t); err != nil {
			return err
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
	return m.validateCatalog()
}

// checkTitles bounds a tool's titles and refuses annotations in a version
// 1 manifest: to a version 1 host they are an unknown field, and a module
// must not mean one thing to one host and another to the next. Version 1
// titles are left as version 1 accepted them, so that every module loaded
// before still loads.
func (m *Manifest) checkTitles(t Tool) error {
	if m.ABI < 2 {
		if t.Annotations != nil {
			return invalid("tool %q: annotations need abi 2 (this manifest says abi %d)", t.Name, m.ABI)
		}
		return nil
	}
	if err := checkTitle(t.Title); err != nil {
		return invalid("tool %q: title %v", t.Name, err)
	}
	if t.Annotations == nil {
		return nil
	}
	if err := checkTitle(t.Annotations.Title); err != nil {
		return invalid("tool %q: annotations.title %v", t.Name, err)
	}
	return nil
}

// checkTitle refuses titles longer than MaxTitle bytes or holding control
// characters (a title is one line of a list).
func checkTitle(title string) error {
	if len(title) > MaxTitle {
		return fmt.Errorf("is %d bytes, more than the %d allowed", len(title), MaxTitle)
	}
	for _, r := range title {
		if unicode.IsControl(r) {
			return fmt.Errorf("holds the control character %U", r)
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
