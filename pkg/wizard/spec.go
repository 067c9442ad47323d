package wizard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/kilnhq/kiln/sandbox/schemacheck"
)

var (
	toolName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	envName  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)
	hostRule = regexp.MustCompile(`^(https?://)?(\*\.)?[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$`)
)

// Limits of one spec, so that a proposal (a model's or a person's) stays
// a size a person can read and a prompt can carry.
const (
	maxDescription = 1000
	maxEnv         = 16
	maxEgress      = 16
)

// checkSpecs checks a whole proposal's tools: each one, and unique names.
func checkSpecs(specs []Spec) error {
	if len(specs) == 0 || len(specs) > MaxTools {
		return inputf("a proposal has 1 to %d tools; this one has %d", MaxTools, len(specs))
	}
	seen := map[string]bool{}
	for i := range specs {
		if err := checkSpec(&specs[i]); err != nil {
			return err
		}
		if seen[specs[i].Name] {
			return inputf("two tools are called %q; tool names must be unique", specs[i].Name)
		}
		seen[specs[i].Name] = true
	}
	return nil
}

// checkSpec checks one tool's specification and normalizes its schemas.
// The model's proposals go through it like a person's: it is the same
// untrusted input.
func checkSpec(s *Spec) error {
	if !toolName.MatchString(s.Name) {
		return inputf("tool name %q must be 1-64 characters of A-Z a-z 0-9 _ . -", s.Name)
	}
	fail := func(format string, args ...any) error {
		return inputf("tool %s: %s", s.Name, fmt.Sprintf(format, args...))
	}
	if len(s.Description) > maxDescription {
		return fail("the description is longer than %d bytes", maxDescription)
	}
	in, err := objectSchema(s.InputSchema)
	if err != nil {
		return fail("input_schema: %v", err)
	}
	if len(s.OutputSchema) > 0 && string(s.OutputSchema) != "null" {
		if _, err := objectSchema(s.OutputSchema); err != nil {
			return fail("output_schema: %v", err)
		}
	} else {
		s.OutputSchema = nil
	}
	if err := checkEnv(s.Env); err != nil {
		return fail("%v", err)
	}
	if len(s.Egress) > maxEgress {
		return fail("at most %d egress hosts", maxEgress)
	}
	for _, h := range s.Egress {
		if !hostRule.MatchString(h) {
			return fail("egress host %q is not a host name (api.example.com, *.example.com, https://host:port)", h)
		}
	}
	return checkSamples(s, in)
}

func checkEnv(env []EnvVar) error {
	if len(env) > maxEnv {
		return fmt.Errorf("at most %d env vars", maxEnv)
	}
	for _, e := range env {
		if !envName.MatchString(e.Name) || strings.HasPrefix(e.Name, "KILN_") {
			return fmt.Errorf("env var %q must be upper-case letters, digits and _, not starting with KILN_", e.Name)
		}
		if len(e.Description) > maxDescription {
			return fmt.Errorf("env var %s: the description is too long", e.Name)
		}
	}
	return nil
}

func checkSamples(s *Spec, in *schemacheck.Schema) error {
	if len(s.Samples) > MaxSamples {
		return inputf("tool %s: at most %d samples", s.Name, MaxSamples)
	}
	for i, raw := range s.Samples {
		if len(raw) > maxSampleBytes {
			return inputf("tool %s: sample %d is larger than %d bytes", s.Name, i+1, maxSampleBytes)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return inputf("tool %s: sample %d is not JSON", s.Name, i+1)
		}
		if _, ok := v.(map[string]any); !ok {
			return inputf("tool %s: sample %d must be a JSON object of arguments", s.Name, i+1)
		}
		if err := in.Validate(v); err != nil {
			return inputf("tool %s: sample %d does not match the input schema: %v", s.Name, i+1, err)
		}
		s.Samples[i] = compact(raw)
	}
	return nil
}

// objectSchema parses a JSON Schema of "type": "object".
func objectSchema(raw json.RawMessage) (*schemacheck.Schema, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("missing")
	}
	if len(raw) > maxSchemaBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxSchemaBytes)
	}
	return schemacheck.ResolveObject(raw)
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}
