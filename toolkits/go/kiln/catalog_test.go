package kiln

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func catalogModule() Module {
	m := testModule()
	m.Prompts = []PromptDef{
		StaticPrompt("hello", "Says hello", UserText("Hello {{who}}")).
			WithArguments(PromptArgument{Name: "who", Values: []string{"Ada"}}),
		Prompt("dyn", "Built by the module", func(_ context.Context, args map[string]string) ([]Message, error) {
			if args["fail"] != "" {
				return nil, errors.New("asked to fail")
			}
			return []Message{UserText("dynamic " + args["x"])}, nil
		}),
	}
	m.Resources = []ResourceDef{
		TextResource("notes://t", "t", "text/plain", ""),
		BlobResource("notes://b", "b", "image/png", []byte{1, 2}),
		Resource("notes://d", "d", func(context.Context, string) (ResourceContents, error) {
			return ResourceContents{Text: "live"}, nil
		}),
	}
	m.ResourceTemplates = []TemplateDef{ResourceTemplate("notes://{id}/x", "tmpl",
		func(_ context.Context, uri string, vars map[string]string) (ResourceContents, error) {
			return ResourceContents{URI: uri, Blob: []byte(vars["id"])}, nil
		}).WithValues("id", "1", "2")}
	return m
}

func TestCatalogManifest(t *testing.T) {
	data, err := catalogModule().manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"prompts":[{"name":"hello","description":"Says hello","arguments":[{"name":"who","values":["Ada"]}],"messages":[{"role":"user","content":{"text":"Hello {{who}}","type":"text"}}]}`,
		`{"name":"dyn","description":"Built by the module","dynamic":true}`,
		`{"uri":"notes://t","name":"t","mimeType":"text/plain","text":""}`,
		`{"uri":"notes://b","name":"b","mimeType":"image/png","blob":"AQI="}`,
		`{"uri":"notes://d","name":"d","dynamic":true}`,
		`"resourceTemplates":[{"uriTemplate":"notes://{id}/x","name":"tmpl","values":{"id":["1","2"]}}]`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("manifest lacks %s:\n%s", want, data)
		}
	}
	m := Module{Tools: testModule().Tools, ResourceTemplates: []TemplateDef{{uriTemplate: "n://{a}", name: "n"}}}
	if _, err := m.manifest(); !errors.Is(err, errTemplateHandler) {
		t.Errorf("a template without a handler: %v", err)
	}
}

// TestEntries: the reserved call names reach the handlers, and an error
// comes back as {"error": ...}.
func TestEntries(t *testing.T) {
	m := catalogModule()
	for _, c := range []struct{ entry, input, want string }{
		{promptEntry, `{"name":"dyn","arguments":{"x":"1"}}`, `{"description":"Built by the module","messages":[{"role":"user","content":{"text":"dynamic 1","type":"text"}}]}`},
		{promptEntry, `{"name":"dyn","arguments":{"fail":"y"}}`, `{"error":"asked to fail"}`},
		{promptEntry, `{"name":"hello"}`, `{"error":"no dynamic prompt \"hello\""}`},
		{resourceEntry, `{"uri":"notes://d"}`, `{"contents":[{"text":"live","uri":"notes://d"}]}`},
		{resourceEntry, `{"uri":"notes://7/x","uriTemplate":"notes://{id}/x","variables":{"id":"7"}}`, `{"contents":[{"blob":"Nw==","uri":"notes://7/x"}]}`},
		{resourceEntry, `{"uri":"notes://t"}`, `{"error":"no dynamic resource \"notes://t\""}`},
		{resourceEntry, `[]`, `{"error":"reading the kiln:resource input: json: cannot unmarshal array into Go value of type kiln.entryInput"}`},
	} {
		var rec recorder
		if status := serve(m, []string{c.entry}, strings.NewReader(c.input), &rec); status != 0 || len(rec.results) != 1 {
			t.Fatalf("%s: status %d, %d results", c.input, status, len(rec.results))
		}
		if got := mustCanon(t, string(rec.results[0])); got != mustCanon(t, c.want) {
			t.Errorf("%s %s:\n got %s\nwant %s", c.entry, c.input, got, c.want)
		}
	}
}

func mustCanon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
