package schemacheck_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/kilnhq/kiln/sandbox/schemacheck"
)

// TestResolveObject: what the go-sdk's AddTool would panic on (a schema
// that is not an object) and what would make the host fetch a schema never
// resolve, and each refusal is a sentence naming the fault.
func TestResolveObject(t *testing.T) {
	for bad, want := range map[string]string{
		`{"type":"string"}`: `type must be "object"`,
		`{}`:                `type must be "object"`,
		`[]`:                "not a JSON Schema",
		`{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`: "does not resolve",
		`{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}`:            "does not resolve",
	} {
		if _, err := schemacheck.ResolveObject([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error saying %q", bad, err, want)
		}
	}
	if _, err := schemacheck.ResolveObject([]byte(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`)); err != nil {
		t.Fatal(err)
	}
}

// TestValidateGivesTheValidatorsMessage: a value the fast check cannot
// vouch for gets the full validator's verdict and message, on schemas the
// fast check compiles and on those it does not.
func TestValidateGivesTheValidatorsMessage(t *testing.T) {
	for _, schema := range []string{
		`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`,
		`{"type":"object","properties":{"n":{"type":"integer","maximum":5}},"required":["n"]}`,
	} {
		s, err := schemacheck.ResolveObject([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		for doc, valid := range map[string]bool{`{"n":1}`: true, `{"n":"1"}`: false, `{}`: false} {
			var v any
			if err := json.Unmarshal([]byte(doc), &v); err != nil {
				t.Fatal(err)
			}
			err := s.Validate(v)
			if (err == nil) != valid {
				t.Errorf("schema %s, value %s: got %v, want valid=%v", schema, doc, err, valid)
			}
			if err != nil && !strings.Contains(err.Error(), "n") {
				t.Errorf("schema %s, value %s: %q does not name the property", schema, doc, err)
			}
		}
	}
}

// TestVersionsAreTheValidators: Resolve takes exactly the $schema versions
// jsonschema-go validates with. A schema of another version would resolve
// in jsonschema-go and then refuse every value, where the fast check,
// which reads no $schema, would accept some: so Resolve refuses it.
func TestVersionsAreTheValidators(t *testing.T) {
	for _, version := range []string{"", "http://json-schema.org/draft-07/schema#",
		"https://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema",
		"http://json-schema.org/draft-04/schema#", "https://json-schema.org/draft/2019-09/schema", "x"} {
		raw, _ := json.Marshal(map[string]any{"$schema": version, "type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}})
		var s jsonschema.Schema
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		full, err := s.Resolve(nil)
		if err != nil {
			t.Fatal(err)
		}
		validates := full.Validate(map[string]any{"n": 1.0}) == nil
		_, err = schemacheck.Parse(raw)
		if (err == nil) != validates {
			t.Errorf("$schema %q: Parse says %v, the validator validates: %v", version, err, validates)
		}
		if err != nil && !strings.Contains(err.Error(), "draft-07 or 2020-12") {
			t.Errorf("$schema %q: %q does not say which versions are", version, err)
		}
	}
}
