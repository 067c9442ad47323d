package manifest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
)

// TestSchemaAgreesWithParse checks schema/manifest.v1.schema.json and
// manifest.v2.schema.json, the published contracts, against Parse on
// documents each accepts or rejects: a document is valid when the schema of
// its version accepts it.
func TestSchemaAgreesWithParse(t *testing.T) {
	schemas := map[int]*jsonschema.Resolved{1: readSchema(t, "manifest.v1.schema.json"), 2: readSchema(t, "manifest.v2.schema.json")}
	echo, err := os.ReadFile(filepath.Join("..", "..", "toolkits", "wat", "echo.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	obj := `"inputSchema":{"type":"object"}`
	long := strings.Repeat("t", MaxTitle+1)
	for doc, valid := range map[string]bool{
		string(echo): true,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"API_KEY","secret":true}],"egress":["*.example.com"]}`: true,
		`{"abi":3,"tools":[{"name":"a",` + obj + `}]}`:                                                                     false,
		`{"abi":1,"tools":[]}`:                                                       false,
		`{"abi":1,"tools":[{"name":"a b",` + obj + `}]}`:                             false,
		`{"abi":1,"tools":[{"name":"a","inputSchema":{"type":"string"}}]}`:           false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"KILN_TOKEN"}]}`: false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"egress":["a.com/x"]}`:          false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"fs":[]}`:                       false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `,"annotations":{}}]}`:              false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"title":"A","annotations":{"title":"A","readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}}]}`: true,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"A"}],"egress":["a.com"]}`:                                                                                         true,
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"annotations":{"readOnlyHint":"yes"}}]}`:                                                                                            false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"annotations":{"audience":"x"}}]}`:                                                                                                  false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"title":"` + long + `"}]}`:                                                                                                          false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"annotations":{"title":"a\tb"}}]}`:                                                                                                  false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resource":[]}`:                                                                                                                   false,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"prompts":[{"name":"p","dynamic":true}]}`:                                                                                         false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"prompts":[{"name":"p","arguments":[{"name":"who","values":["Ada"]}],"messages":[{"role":"user","content":{"type":"text","text":"hi {{who}}"}}]},{"name":"q","dynamic":true}]}`: true,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"prompts":[{"name":"p"}]}`:                                                                                                                                                   false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"prompts":[{"name":"p","dynamic":true,"messages":[{"role":"user","content":{"type":"text","text":"x"}}]}]}`:                                                                  false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resources":[{"uri":"notes://a","name":"a","text":"x","mimeType":"text/plain"},{"uri":"notes://b","name":"b","blob":"AAE="},{"uri":"notes://c","name":"c","dynamic":true}]}`: true,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resources":[{"uri":"file:///x","name":"a","text":"x"}]}`:                                                                                                                    false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resources":[{"uri":"notes://a","name":"a"}]}`:                                                                                                                               false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resources":[{"uri":"notes://a","name":"a","text":"x","blob":"AAE="}]}`:                                                                                                      false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resourceTemplates":[{"uriTemplate":"notes://{id}/data","name":"t","values":{"id":["1","2"]}}]}`:                                                                             true,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resourceTemplates":[{"uriTemplate":"notes://{+id}","name":"t"}]}`:                                                                                                           false,
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"resourceTemplates":[{"uriTemplate":"notes://x","name":"t"}]}`:                                                                                                               false,
	} {
		var instance struct {
			ABI int `json:"abi"`
		}
		if err := json.Unmarshal([]byte(doc), &instance); err != nil {
			t.Fatal(err)
		}
		var schemaErr error = errors.New("no schema for this abi version")
		if s := schemas[instance.ABI]; s != nil {
			var v any
			if err := json.Unmarshal([]byte(doc), &v); err != nil {
				t.Fatal(err)
			}
			schemaErr = s.Validate(v)
		}
		_, parseErr := Parse([]byte(doc))
		if (schemaErr == nil) != valid || (parseErr == nil) != valid {
			t.Errorf("%.90s: schema says %v, Parse says %v, want valid=%v", doc, schemaErr, parseErr, valid)
		}
	}
}

func readSchema(t *testing.T, name string) *jsonschema.Resolved {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "schema", name))
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return resolved
}
