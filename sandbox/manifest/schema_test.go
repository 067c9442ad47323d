package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
)

// TestSchemaAgreesWithParse checks schema/manifest.v1.schema.json, the
// published contract, against Parse on documents each accepts or rejects.
func TestSchemaAgreesWithParse(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "schema", "manifest.v1.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	echo, err := os.ReadFile(filepath.Join("..", "..", "toolkits", "wat", "echo.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	obj := `"inputSchema":{"type":"object"}`
	for doc, valid := range map[string]bool{
		string(echo): true,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"API_KEY","secret":true}],"egress":["*.example.com"]}`: true,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}]}`:                                                                     false,
		`{"abi":1,"tools":[]}`:                                                       false,
		`{"abi":1,"tools":[{"name":"a b",` + obj + `}]}`:                             false,
		`{"abi":1,"tools":[{"name":"a","inputSchema":{"type":"string"}}]}`:           false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"KILN_TOKEN"}]}`: false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"egress":["a.com/x"]}`:          false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"fs":[]}`:                       false,
	} {
		var instance any
		if err := json.Unmarshal([]byte(doc), &instance); err != nil {
			t.Fatal(err)
		}
		schemaErr := resolved.Validate(instance)
		_, parseErr := Parse([]byte(doc))
		if (schemaErr == nil) != valid || (parseErr == nil) != valid {
			t.Errorf("%.70s: schema says %v, Parse says %v, want valid=%v", doc, schemaErr, parseErr, valid)
		}
	}
}
