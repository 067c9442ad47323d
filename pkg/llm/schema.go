package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
)

// validator checks answers against a request's schema.
type validator struct{ rs *jsonschema.Resolved }

var schemaNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func schemaName(r Request) string {
	if r.SchemaName == "" {
		return "answer"
	}
	return r.SchemaName
}

func maxTokens(r Request) int {
	if r.MaxTokens <= 0 {
		return DefaultMaxTokens
	}
	return r.MaxTokens
}

// compileSchema resolves r.Schema; nil when the request has none.
func compileSchema(r Request) (*validator, error) {
	if len(r.Schema) == 0 {
		return nil, nil
	}
	if !schemaNameRE.MatchString(schemaName(r)) {
		return nil, fmt.Errorf("schema name %q: want 1-64 letters, digits, '_' or '-'", r.SchemaName)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(r.Schema, &s); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &validator{rs: rs}, nil
}

// check validates an answer and returns the JSON document to hand on. It
// decodes with encoding/json, as the callers will, so what is validated is
// what they act on.
func (v *validator) check(text string) (string, error) {
	doc := stripFence(text)
	dec := json.NewDecoder(strings.NewReader(doc))
	var inst any
	if err := dec.Decode(&inst); err != nil {
		return "", fmt.Errorf("answer is not JSON: %w", err)
	}
	if dec.More() || !onlySpace(doc[dec.InputOffset():]) {
		return "", errors.New("answer has text after the JSON document")
	}
	if err := v.rs.Validate(inst); err != nil {
		return "", fmt.Errorf("answer does not match the schema: %w", err)
	}
	return doc, nil
}

func onlySpace(s string) bool { return len(bytes.TrimSpace([]byte(s))) == 0 }

// stripFence removes one Markdown code fence around the document, which
// models without enforced structured output add habitually.
func stripFence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	body := strings.TrimSuffix(s[3:], "```")
	if nl := strings.IndexByte(body, '\n'); nl >= 0 {
		body = body[nl+1:] // drop the language tag line
	} else {
		return s
	}
	return strings.TrimSpace(body)
}

// reask is the message that sends a validation failure back to the model.
func reask(err error) string {
	msg := err.Error()
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	return "Your previous answer was rejected: " + msg +
		"\nAnswer again with only a JSON document that satisfies the schema, nothing else."
}
