package kiln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type recorder struct {
	results [][]byte
	logs    []string // level, then the document
	reports []string
	// answer answers input requests (input.go); nil: no one to ask.
	answer func(kind string, doc []byte) []byte
}

func (r *recorder) result(data []byte) { r.results = append(r.results, data) }
func (r *recorder) logMessage(level Level, doc []byte) {
	r.logs = append(r.logs, level.String()+" "+string(doc))
}
func (r *recorder) progress(progress, total float64, message string) {
	r.reports = append(r.reports, fmt.Sprintf("%g/%g %s", progress, total, message))
}
func (r *recorder) httpRequest([]byte) []byte { return []byte(`{"error":"no network in tests"}`) }

// errStopped is what the recorder's stopForInput panics with, for tests
// to see that AskAll stopped.
var errStopped = errors.New("stopped for input")

func (r *recorder) stopForInput() { panic(errStopped) }

func (r *recorder) input(kind string, doc []byte) []byte {
	if r.answer == nil {
		return nil
	}
	return r.answer(kind, doc)
}

type greetIn struct {
	Name  string   `json:"name" description:"Who to greet"`
	Times *int     `json:"times,omitempty"`
	Tone  string   `json:"tone,omitempty" enum:"warm,formal"`
	Tags  []string `json:"tags,omitempty"`
}

type greetOut struct {
	Greeting string `json:"greeting"`
}

func greet(_ context.Context, in greetIn) (greetOut, error) {
	if in.Name == "nobody" {
		return greetOut{}, errors.New("nobody cannot be greeted")
	}
	return greetOut{"hello " + in.Name}, nil
}

func testModule() Module {
	return Module{
		Env:   []EnvVar{{Name: "API_KEY", Secret: true, Required: true}},
		Tools: []Tool{NewTool("greet", "Greets someone", greet)},
	}
}

func callTool(t *testing.T, m Module, tool, args string) Result {
	t.Helper()
	var rec recorder
	if status := serve(m, []string{tool}, strings.NewReader(args), &rec); status != 0 {
		t.Fatalf("status %d", status)
	}
	if len(rec.results) != 1 {
		t.Fatalf("%d results, want exactly 1", len(rec.results))
	}
	var r Result
	if err := json.Unmarshal(rec.results[0], &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCallReturnsStructuredContent(t *testing.T) {
	r := callTool(t, testModule(), "greet", `{"name":"Ada"}`)
	if r.IsError || string(r.StructuredContent) != `{"greeting":"hello Ada"}` || r.Content[0].Text != `{"greeting":"hello Ada"}` {
		t.Fatalf("result = %+v", r)
	}
}

func TestErrorsBecomeErrorResults(t *testing.T) {
	for args, want := range map[string]string{
		`{"name":"nobody"}`:           "nobody cannot be greeted",
		`{}`:                          `missing required property "name"`,
		`{"name":1}`:                  `at "name": expected a string, got a number`,
		`{"name":"a","tone":"rude"}`:  `"rude" is not one of [warm formal]`,
		`{"name":"a","extra":true}`:   `unknown property "extra"`,
		`{"name":"a","tags":["x",2]}`: `at "tags[1]": expected a string`,
		`{"name":"a","times":1.5}`:    `expected an integer`,
		`{"name":"a"} {}`:             "unexpected data after the document",
		`[`:                           "not valid JSON",
	} {
		r := callTool(t, testModule(), "greet", args)
		if !r.IsError || !strings.Contains(r.Content[0].Text, want) {
			t.Errorf("args %s: result %+v, want an error mentioning %q", args, r, want)
		}
	}
	if r := callTool(t, testModule(), "nope", `{}`); !r.IsError || !strings.Contains(r.Content[0].Text, `unknown tool "nope"`) {
		t.Errorf("unknown tool: %+v", r)
	}
}

func TestDescribeWritesTheManifest(t *testing.T) {
	var rec recorder
	if status := serve(testModule(), []string{DescribeTool}, strings.NewReader(""), &rec); status != 0 {
		t.Fatalf("status %d", status)
	}
	var man map[string]any
	if err := json.Unmarshal(rec.results[0], &man); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"abi": 2.0,
		"env": []any{map[string]any{"name": "API_KEY", "required": true, "secret": true}},
		"tools": []any{map[string]any{
			"name":        "greet",
			"description": "Greets someone",
			"inputSchema": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"name":  map[string]any{"type": "string", "description": "Who to greet"},
					"times": map[string]any{"type": "integer"},
					"tone":  map[string]any{"type": "string", "enum": []any{"warm", "formal"}},
					"tags":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				},
				"required":             []any{"name"},
				"additionalProperties": false,
			},
			"outputSchema": map[string]any{
				"type":                 "object",
				"properties":           map[string]any{"greeting": map[string]any{"type": "string"}},
				"required":             []any{"greeting"},
				"additionalProperties": false,
			},
		}},
	}
	if !reflect.DeepEqual(man, want) {
		got, _ := json.MarshalIndent(man, "", "  ")
		t.Fatalf("manifest:\n%s", got)
	}
}

func TestDescribeReportsBadTools(t *testing.T) {
	type recursive struct {
		Next *recursive `json:"next"`
	}
	for name, m := range map[string]Module{
		"no tools":       {},
		"bad name":       {Tools: []Tool{NewTool("has space", "", greet)}},
		"duplicate":      {Tools: []Tool{NewTool("greet", "", greet), NewTool("greet", "", greet)}},
		"non-struct in":  {Tools: []Tool{NewTool("x", "", func(context.Context, string) (string, error) { return "", nil })}},
		"recursive type": {Tools: []Tool{NewTool("x", "", func(context.Context, recursive) (string, error) { return "", nil })}},
		"channel field": {Tools: []Tool{NewTool("x", "", func(context.Context, struct{ C chan int }) (string, error) {
			return "", nil
		})}},
		"long title":             {Tools: []Tool{NewTool("greet", "", greet).WithTitle(strings.Repeat("t", 257))}},
		"two-line title":         {Tools: []Tool{NewTool("greet", "", greet).WithTitle("a\nb")}},
		"long annotations title": {Tools: []Tool{NewTool("greet", "", greet).WithAnnotations(Annotations{Title: strings.Repeat("t", 257)})}},
	} {
		var rec recorder
		if status := serve(m, []string{DescribeTool}, strings.NewReader(""), &rec); status == 0 {
			t.Errorf("%s: describe succeeded: %s", name, rec.results)
		}
	}
}

func TestStringAndResultOutputs(t *testing.T) {
	m := Module{Tools: []Tool{
		NewTool("text", "", func(context.Context, struct{}) (string, error) { return "plain", nil }),
		NewTool("image", "", func(context.Context, struct{}) (Result, error) {
			return Result{Content: []Content{{Type: "image", Data: "AAAA", MIMEType: "image/png"}}}, nil
		}),
	}}
	if r := callTool(t, m, "text", ""); r.Content[0].Text != "plain" || r.StructuredContent != nil {
		t.Errorf("text: %+v", r)
	}
	if r := callTool(t, m, "image", "{}"); r.Content[0].Type != "image" || r.Content[0].MIMEType != "image/png" {
		t.Errorf("image: %+v", r)
	}
}
