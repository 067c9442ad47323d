package schemacheck_test

import (
	"encoding/json"
	"fmt"

	"github.com/kilnhq/kiln/sandbox/schemacheck"
)

// A tool's input schema is resolved once; each call's arguments are
// decoded into an any and validated. The schema is of the common shape,
// so valid arguments never reach the full validator; invalid ones get its
// message.
func ExampleResolveObject() {
	schema, err := schemacheck.ResolveObject(json.RawMessage(`{
		"type": "object",
		"properties": {"text": {"type": "string"}},
		"required": ["text"],
		"additionalProperties": false
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, args := range []string{`{"text":"hi"}`, `{"text":5}`} {
		var v any
		if err := json.Unmarshal([]byte(args), &v); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s valid: %v\n", args, schema.Validate(v) == nil)
	}
	_, err = schemacheck.ResolveObject(json.RawMessage(`{"type":"string"}`))
	fmt.Println(err)
	// Output:
	// {"text":"hi"} valid: true
	// {"text":5} valid: false
	// the schema's type must be "object"
}
