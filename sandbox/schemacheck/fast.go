package schemacheck

import (
	"math"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
)

// fastSchema checks a value against a schema of the common shape (the one
// the Go toolkit writes: typed properties, required, additionalProperties,
// items, string enums, minimum) without the full validator's reflection
// and annotations. It only ever accepts: what it cannot vouch for goes to
// the full validator (Schema.Validate). compileFast returns nil for a
// schema using any other keyword.
type fastSchema struct {
	typ        string // "" for any
	enum       []string
	hasEnum    bool
	minimum    *float64
	properties map[string]*fastSchema
	required   []string
	additional *fastSchema // additionalProperties; nil when absent
	refuse     bool        // the false schema: nothing is valid
	items      *fastSchema
}

// fastKeywords are the fields of jsonschema.Schema compileFast
// understands; a schema with any other field set is not compiled. Title,
// description, format (an annotation in the full validator too) and the
// like change nothing about validity.
var fastKeywords = map[string]bool{
	"Schema": true, "Comment": true, "Title": true, "Description": true, "Default": true,
	"Deprecated": true, "ReadOnly": true, "WriteOnly": true, "Examples": true, "Format": true,
	"PropertyOrder": true, "Type": true, "Enum": true, "Minimum": true, "Properties": true,
	"Required": true, "AdditionalProperties": true, "Items": true,
}

// compileFast returns the fast check of s, or nil when s uses a keyword
// (or a type name, or a non-string enum) it does not understand.
func compileFast(s *jsonschema.Schema) *fastSchema {
	if s == nil {
		return nil
	}
	if isFalseSchema(s) {
		return &fastSchema{refuse: true}
	}
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		if !fastKeywords[v.Type().Field(i).Name] && !v.Field(i).IsZero() {
			return nil
		}
	}
	f := &fastSchema{typ: s.Type, minimum: s.Minimum, required: s.Required, hasEnum: s.Enum != nil}
	switch s.Type {
	case "", "object", "array", "string", "number", "integer", "boolean", "null":
	default:
		return nil
	}
	for _, e := range s.Enum {
		str, ok := e.(string)
		if !ok {
			return nil
		}
		f.enum = append(f.enum, str)
	}
	if len(s.Properties) > 0 {
		f.properties = make(map[string]*fastSchema, len(s.Properties))
		for name, p := range s.Properties {
			if f.properties[name] = compileFast(p); f.properties[name] == nil {
				return nil
			}
		}
	}
	if s.AdditionalProperties != nil {
		if f.additional = compileFast(s.AdditionalProperties); f.additional == nil {
			return nil
		}
	}
	if s.Items != nil {
		if f.items = compileFast(s.Items); f.items == nil {
			return nil
		}
	}
	return f
}

// isFalseSchema reports whether s is how jsonschema-go reads `false`:
// {"not": {}}.
func isFalseSchema(s *jsonschema.Schema) bool {
	if s.Not == nil || !reflect.ValueOf(*s.Not).IsZero() {
		return false
	}
	rest := *s
	rest.Not = nil
	return reflect.ValueOf(rest).IsZero()
}

// accepts reports whether v (as encoding/json decodes into an any) is
// certainly valid; false means "ask the full validator".
func (f *fastSchema) accepts(v any) bool {
	if f.refuse || !f.typeMatches(v) {
		return false
	}
	if f.hasEnum {
		str, ok := v.(string)
		if !ok || !containsString(f.enum, str) {
			return false
		}
	}
	switch v := v.(type) {
	case float64:
		return f.minimum == nil || v >= *f.minimum
	case []any:
		if f.items != nil {
			for _, item := range v {
				if !f.items.accepts(item) {
					return false
				}
			}
		}
	case map[string]any:
		return f.objectAccepts(v)
	}
	return true
}

func (f *fastSchema) objectAccepts(obj map[string]any) bool {
	for _, name := range f.required {
		if _, ok := obj[name]; !ok {
			return false
		}
	}
	for name, value := range obj {
		p, declared := f.properties[name]
		if !declared {
			p = f.additional
		}
		if p != nil && !p.accepts(value) {
			return false
		}
	}
	return true
}

// typeMatches applies "type" as the full validator does: a number without
// a fractional part is an integer, and "number" takes integers too.
func (f *fastSchema) typeMatches(v any) bool {
	var got string
	switch v := v.(type) {
	case nil:
		got = "null"
	case bool:
		got = "boolean"
	case string:
		got = "string"
	case float64:
		got = "number"
		if _, frac := math.Modf(v); frac == 0 {
			got = "integer"
		}
	case []any:
		got = "array"
	case map[string]any:
		got = "object"
	default:
		return false
	}
	return f.typ == "" || f.typ == got || f.typ == "number" && got == "integer"
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
