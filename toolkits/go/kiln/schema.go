package kiln

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/jsondoc"
)

// Schema is the subset of JSON Schema (2020-12) the toolkit derives from Go
// types and checks arguments against.
type Schema struct {
	Type                 string             `json:"type,omitempty"`
	Description          string             `json:"description,omitempty"`
	Format               string             `json:"format,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *Schema            `json:"-"`
	// Closed objects reject properties they do not declare.
	Closed bool    `json:"-"`
	Items  *Schema `json:"items,omitempty"`
}

// MarshalJSON writes additionalProperties as false for closed objects and as
// a schema for maps.
func (s *Schema) MarshalJSON() ([]byte, error) {
	type plain Schema
	var extra struct {
		*plain
		AdditionalProperties any `json:"additionalProperties,omitempty"`
	}
	extra.plain = (*plain)(s)
	switch {
	case s.Closed:
		extra.AdditionalProperties = false
	case s.AdditionalProperties != nil:
		extra.AdditionalProperties = s.AdditionalProperties
	}
	return json.Marshal(extra)
}

// SchemaFor derives the JSON Schema of a Go type.
func SchemaFor(t reflect.Type) (*Schema, error) {
	return schemaFor(t, map[reflect.Type]bool{})
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawType     = reflect.TypeFor[json.RawMessage]()
	byteSlice   = reflect.TypeFor[[]byte]()
	zero        = 0.0
	errRecursed = errors.New("recursive types are not supported")
)

func schemaFor(t reflect.Type, visiting map[reflect.Type]bool) (*Schema, error) {
	switch t {
	case timeType:
		return &Schema{Type: "string", Format: "date-time"}, nil
	case rawType:
		return &Schema{}, nil
	case byteSlice:
		return &Schema{Type: "string", Format: "byte"}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &Schema{Type: "string"}, nil
	case reflect.Bool:
		return &Schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &Schema{Type: "integer"}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer", Minimum: &zero}, nil
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}, nil
	case reflect.Interface:
		return &Schema{}, nil
	case reflect.Pointer:
		return schemaFor(t.Elem(), visiting)
	case reflect.Slice, reflect.Array:
		items, err := schemaFor(t.Elem(), visiting)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "array", Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key type %s: only string keys map to JSON objects", t.Key())
		}
		values, err := schemaFor(t.Elem(), visiting)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "object", AdditionalProperties: values}, nil
	case reflect.Struct:
		if visiting[t] {
			return nil, fmt.Errorf("type %s: %w", t, errRecursed)
		}
		visiting[t] = true
		defer delete(visiting, t)
		return structSchema(t, visiting)
	}
	return nil, fmt.Errorf("type %s (%s) has no JSON form", t, t.Kind())
}

func structSchema(t reflect.Type, visiting map[reflect.Type]bool) (*Schema, error) {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}, Closed: true}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs, err := schemaFor(f.Type, visiting)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		fs.Description = f.Tag.Get("description")
		if enum := f.Tag.Get("enum"); enum != "" {
			if fs.Type != "string" {
				return nil, fmt.Errorf("field %s: enum tags are only supported on strings", f.Name)
			}
			for _, v := range strings.Split(enum, ",") {
				fs.Enum = append(fs.Enum, v)
			}
		}
		s.Properties[name] = fs
		if f.Type.Kind() != reflect.Pointer && !strings.Contains(","+opts+",", ",omitempty,") {
			s.Required = append(s.Required, name)
		}
	}
	sort.Strings(s.Required)
	return s, nil
}

// ValidateJSON checks a JSON document against the schema and describes the
// first problem with its location, such as `at "items[2].name": expected string`.
// It decodes with jsondoc, whose single hand-written pass costs a fraction
// of encoding/json's fuel: arguments are decoded twice (here, then into the
// handler's type), so this is on every call's path.
func (s *Schema) ValidateJSON(data []byte) error {
	v, err := jsondoc.Decode(data)
	if err != nil {
		return err
	}
	return s.validate(v, "")
}

func (s *Schema) validate(v any, at string) error {
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if at == "" {
			return errors.New(msg)
		}
		return fmt.Errorf("at %q: %s", at, msg)
	}
	switch s.Type {
	case "":
		return nil
	case "string":
		str, ok := v.(string)
		if !ok {
			return fail("expected a string, got %s", jsonKind(v))
		}
		if len(s.Enum) > 0 {
			for _, e := range s.Enum {
				if e == str {
					return nil
				}
			}
			return fail("%q is not one of %v", str, s.Enum)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return fail("expected an RFC 3339 date-time, got %q", str)
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fail("expected a boolean, got %s", jsonKind(v))
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return fail("expected a %s, got %s", s.Type, jsonKind(v))
		}
		f, err := n.Float64()
		if err != nil {
			return fail("number %s is out of range", n)
		}
		if s.Type == "integer" {
			if _, err := n.Int64(); err != nil {
				return fail("expected an integer, got %s", n)
			}
		}
		if s.Minimum != nil && f < *s.Minimum {
			return fail("%s is below the minimum %v", n, *s.Minimum)
		}
	case "array":
		items, ok := v.([]any)
		if !ok {
			return fail("expected an array, got %s", jsonKind(v))
		}
		for i, item := range items {
			if err := s.Items.validate(item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		obj, ok := v.(*jsondoc.Object)
		if !ok {
			return fail("expected an object, got %s", jsonKind(v))
		}
		for _, name := range s.Required {
			if _, ok := obj.Get(name); !ok {
				return fail("missing required property %q", name)
			}
		}
		keys := append([]string(nil), obj.Keys...)
		sort.Strings(keys)
		for _, k := range keys {
			path := k
			if at != "" {
				path = at + "." + k
			}
			ps, declared := s.Properties[k]
			switch {
			case declared:
			case s.AdditionalProperties != nil:
				ps = s.AdditionalProperties
			case s.Closed:
				return fail("unknown property %q", k)
			default:
				continue
			}
			value, _ := obj.Get(k)
			if err := ps.validate(value, path); err != nil {
				return err
			}
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case *jsondoc.Object:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
