package api_test

import (
	"encoding/json"
	"mime"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/kilnhq/kiln/pkg/api"
)

// contract checks answers against the OpenAPI document: every answer a
// test receives must be to a documented operation, with a documented
// status, and its JSON body must match the documented schema. That keeps
// the hand-written document honest about more than its list of routes.
type contract struct {
	doc     openAPIDoc
	ops     []operation
	mu      sync.Mutex
	schemas map[string]*jsonschema.Resolved
	defs    json.RawMessage
}

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas   json.RawMessage            `json:"schemas"`
		Responses map[string]openAPIResponse `json:"responses"`
	} `json:"components"`
}

type openAPIOperation struct {
	Security *[]map[string][]string `json:"security"`
	// Role is the least role a user API operation needs (the policy).
	Role      string                     `json:"x-kiln-role"`
	Responses map[string]openAPIResponse `json:"responses"`
}

type openAPIResponse struct {
	Ref     string `json:"$ref"`
	Content map[string]struct {
		Schema json.RawMessage `json:"schema"`
	} `json:"content"`
}

type operation struct {
	method, template string
	pattern          *regexp.Regexp
	op               openAPIOperation
}

var (
	contractOnce sync.Once
	contractDoc  *contract
	contractErr  error
)

func loadContract(t *testing.T) *contract {
	t.Helper()
	contractOnce.Do(func() { contractDoc, contractErr = parseContract(api.OpenAPIDocument()) })
	if contractErr != nil {
		t.Fatal(contractErr)
	}
	return contractDoc
}

func parseContract(data []byte) (*contract, error) {
	c := &contract{schemas: map[string]*jsonschema.Resolved{}}
	if err := json.Unmarshal(data, &c.doc); err != nil {
		return nil, err
	}
	c.defs = json.RawMessage(strings.ReplaceAll(string(c.doc.Components.Schemas), "#/components/schemas/", "#/$defs/"))
	for template, item := range c.doc.Paths {
		re := "^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(template), `[^/]+`) + "$"
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, err
			}
			c.ops = append(c.ops, operation{method: strings.ToUpper(method), template: template, pattern: regexp.MustCompile(re), op: op})
		}
	}
	return c, nil
}

func (c *contract) find(method, path string) (operation, bool) {
	path, _, _ = strings.Cut(path, "?")
	for _, op := range c.ops {
		if op.method == method && op.pattern.MatchString(path) {
			return op, true
		}
	}
	return operation{}, false
}

// check holds one answer to the document.
func (c *contract) check(t *testing.T, method, path string, r resp) {
	t.Helper()
	op, ok := c.find(method, path)
	if !ok {
		if r.status == 404 || r.status == 405 {
			return // an unknown route answered as such
		}
		t.Fatalf("contract: %s %s is not in openapi.json (answer %s)", method, path, r)
	}
	res, ok := op.op.Responses[strconv.Itoa(r.status)]
	if !ok && r.status >= 500 {
		res, ok = op.op.Responses["default"]
	}
	if !ok {
		t.Fatalf("contract: %s %s answered %d, which openapi.json does not list for it: %s", method, op.template, r.status, r.body)
	}
	if res.Ref != "" {
		res = c.doc.Components.Responses[strings.TrimPrefix(res.Ref, "#/components/responses/")]
	}
	if len(res.Content) == 0 {
		if len(r.body) != 0 {
			t.Fatalf("contract: %s %s %d documents no body but has %s", method, op.template, r.status, r.body)
		}
		return
	}
	media, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	content, ok := res.Content[media]
	if !ok {
		t.Fatalf("contract: %s %s %d answered %q, not a documented media type", method, op.template, r.status, media)
	}
	schema := c.resolve(t, content.Schema)
	var instance any
	if err := json.Unmarshal(r.body, &instance); err != nil {
		t.Fatalf("contract: %s %s %d: the body is not JSON: %v", method, op.template, r.status, err)
	}
	if err := schema.Validate(instance); err != nil {
		t.Fatalf("contract: %s %s %d: the body does not match openapi.json: %v\n%s", method, op.template, r.status, err, r.body)
	}
}

// resolve compiles a schema fragment of the document with the document's
// component schemas as $defs.
func (c *contract) resolve(t *testing.T, fragment json.RawMessage) *jsonschema.Resolved {
	t.Helper()
	key := string(fragment)
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.schemas[key]; ok {
		return r
	}
	frag := strings.ReplaceAll(key, "#/components/schemas/", "#/$defs/")
	root := `{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":` + string(c.defs) + `,"allOf":[` + frag + `]}`
	var s jsonschema.Schema
	if err := json.Unmarshal([]byte(root), &s); err != nil {
		t.Fatalf("contract: schema %s: %v", key, err)
	}
	r, err := s.Resolve(nil)
	if err != nil {
		t.Fatalf("contract: schema %s: %v", key, err)
	}
	c.schemas[key] = r
	return r
}
