package schemacheck

import (
	"encoding/json"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
)

// fastSchemas are schemas of the common shape (compiled) and beyond
// it (not compiled: fast is false).
var fastSchemas = []struct {
	schema string
	fast   bool
}{
	{`{"type":"object","properties":{"text":{"type":"string","description":"d"}},"required":["text"],"additionalProperties":false}`, true},
	{`{"type":"object"}`, true},
	{`{}`, true},
	{`{"type":"object","properties":{"n":{"type":"integer","minimum":0},"x":{"type":"number"},"b":{"type":"boolean"},
	  "tags":{"type":"array","items":{"type":"string","enum":["a","b"]}},"when":{"type":"string","format":"date-time"},
	  "m":{"type":"object","additionalProperties":{"type":"integer"}},"any":{},
	  "nested":{"type":"object","properties":{"k":{"type":"string"}},"required":["k"],"additionalProperties":false}},
	  "required":["n","tags"],"additionalProperties":false}`, true},
	{`{"type":"object","properties":{"s":{"type":"string","maxLength":3}}}`, false},
	{`{"type":"object","properties":{"s":{"type":["string","null"]}}}`, false},
	{`{"type":"object","properties":{"e":{"enum":[1,2]}}}`, false},
	{`{"type":"object","patternProperties":{"^a":{"type":"string"}}}`, false},
	{`{"type":"object","properties":{"r":{"$ref":"#/$defs/x"}},"$defs":{"x":{"type":"string"}}}`, false},
	{`{"type":"object","additionalProperties":{"not":{"type":"string"}}}`, false},
	{`{"type":"object","x-vendor":true}`, false},
}

// fastArguments cover each keyword's accepting and refusing side.
var fastArguments = []string{
	`{}`, `{"text":"hi"}`, `{"text":5}`, `{"text":"hi","extra":1}`, `{"text":null}`,
	`{"n":0,"tags":[]}`, `{"n":-1,"tags":[]}`, `{"n":1.5,"tags":[]}`, `{"n":2.0,"tags":["a","b"]}`,
	`{"n":1,"tags":["c"]}`, `{"n":1,"tags":"a"}`, `{"n":1,"tags":[1]}`, `{"n":1e300,"tags":[]}`,
	`{"n":1,"tags":[],"x":1}`, `{"n":1,"tags":[],"x":"1"}`, `{"n":1,"tags":[],"b":false}`, `{"n":1,"tags":[],"b":0}`,
	`{"n":1,"tags":[],"when":"not a date"}`, `{"n":1,"tags":[],"m":{"a":1,"b":2}}`, `{"n":1,"tags":[],"m":{"a":"1"}}`,
	`{"n":1,"tags":[],"any":[{"x":null}]}`, `{"n":1,"tags":[],"nested":{"k":"v"}}`, `{"n":1,"tags":[],"nested":{}}`,
	`{"n":1,"tags":[],"nested":{"k":"v","z":1}}`, `{"tags":[]}`, `{"s":"abcd"}`, `{"s":null}`, `{"e":1}`,
	`{"a":"x"}`, `{"a":1}`, `{"r":"x"}`, `{"r":1}`, `{"q":"x"}`, `{"q":1}`,
}

func resolveForTest(t testing.TB, raw string) (*jsonschema.Resolved, *fastSchema) {
	var s jsonschema.Schema
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	r, err := s.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, compileFast(&s)
}

// TestFastSchemaAgreesWithValidator: the fast check compiles exactly the
// schemas of the common shape, and on them accepts exactly what the full
// validator accepts (so calls with valid arguments never need the slow
// one), over arguments that take each keyword's either side.
func TestFastSchemaAgreesWithValidator(t *testing.T) {
	for _, tc := range fastSchemas {
		full, fast := resolveForTest(t, tc.schema)
		if (fast != nil) != tc.fast {
			t.Fatalf("%s: compiled %v, want %v", tc.schema, fast != nil, tc.fast)
		}
		if fast == nil {
			continue
		}
		for _, args := range fastArguments {
			var v any
			if err := json.Unmarshal([]byte(args), &v); err != nil {
				t.Fatal(err)
			}
			valid := full.Validate(v) == nil
			if got := fast.accepts(v); got != valid {
				t.Errorf("schema %s, arguments %s: fast check says %v, the validator %v", tc.schema, args, got, valid)
			}
		}
	}
}

// FuzzFastSchema: whatever the arguments, the fast check never accepts
// what the full validator refuses.
func FuzzFastSchema(f *testing.F) {
	for _, a := range fastArguments {
		f.Add(a)
	}
	type pair struct {
		full *jsonschema.Resolved
		fast *fastSchema
	}
	var schemas []pair
	for _, tc := range fastSchemas {
		if full, fast := resolveForTest(f, tc.schema); fast != nil {
			schemas = append(schemas, pair{full, fast})
		}
	}
	f.Fuzz(func(t *testing.T, args string) {
		var v any
		if json.Unmarshal([]byte(args), &v) != nil {
			return
		}
		for _, s := range schemas {
			if s.fast.accepts(v) {
				if err := s.full.Validate(v); err != nil {
					t.Fatalf("the fast check accepted %s, which the validator refuses: %v", args, err)
				}
			}
		}
	})
}
