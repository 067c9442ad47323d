package manifest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// doc2 is a version 2 manifest with one tool and the given extra fields.
func doc2(extra string) string {
	return `{"abi":2,"tools":[{"name":"a","inputSchema":{"type":"object"}}],` + extra + `}`
}

func jsonList(n int, item func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item(i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func quoted(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const textMsg = `{"role":"user","content":{"type":"text","text":"hi"}}`

func prompt(i int) string {
	return fmt.Sprintf(`{"name":"p%d","messages":[%s]}`, i, textMsg)
}

func resource(i int) string {
	return fmt.Sprintf(`{"uri":"notes://n/%d","name":"n%d","text":"x"}`, i, i)
}

func template(i int) string {
	return fmt.Sprintf(`{"uriTemplate":"notes://t%d/{id}","name":"t%d"}`, i, i)
}

// TestCatalogLimits crosses every limit of prompts, resources and resource
// templates: the document at the limit parses, one past it is refused with
// a message naming what is wrong.
func TestCatalogLimits(t *testing.T) {
	values := func(n, size int) string {
		return jsonList(n, func(i int) string { return quoted(fmt.Sprintf("%0*d", size, i)) })
	}
	args := func(n int) string {
		return jsonList(n, func(i int) string { return fmt.Sprintf(`{"name":"a%d"}`, i) })
	}
	long := func(n int) string { return quoted(strings.Repeat("d", n)) }
	uri := func(n int) string { return quoted("notes://" + strings.Repeat("u", n-len("notes://"))) }
	blob := func(n int) string { return quoted(base64.StdEncoding.EncodeToString(make([]byte, n))) }
	for _, c := range []struct {
		name      string
		at, past  string
		wantError string
	}{
		{"prompts", `"prompts":` + jsonList(MaxPrompts, prompt), `"prompts":` + jsonList(MaxPrompts+1, prompt), "65 prompts declared, at most 64"},
		{"resources", `"resources":` + jsonList(MaxResources, resource), `"resources":` + jsonList(MaxResources+1, resource), "257 resources declared"},
		{"templates", `"resourceTemplates":` + jsonList(MaxResourceTemplates, template), `"resourceTemplates":` + jsonList(MaxResourceTemplates+1, template), "65 resourceTemplates declared"},
		{"arguments", `"prompts":[{"name":"p","dynamic":true,"arguments":` + args(MaxPromptArguments) + `}]`,
			`"prompts":[{"name":"p","dynamic":true,"arguments":` + args(MaxPromptArguments+1) + `}]`, "33 arguments"},
		{"messages", `"prompts":[{"name":"p","messages":` + jsonList(MaxPromptMessages, func(int) string { return textMsg }) + `}]`,
			`"prompts":[{"name":"p","messages":` + jsonList(MaxPromptMessages+1, func(int) string { return textMsg }) + `}]`, "33 messages"},
		{"argument values", `"prompts":[{"name":"p","dynamic":true,"arguments":[{"name":"a","values":` + values(MaxValues, 3) + `}]}]`,
			`"prompts":[{"name":"p","dynamic":true,"arguments":[{"name":"a","values":` + values(MaxValues+1, 3) + `}]}]`, "101 values"},
		{"value length", `"prompts":[{"name":"p","dynamic":true,"arguments":[{"name":"a","values":` + values(1, MaxValueLen) + `}]}]`,
			`"prompts":[{"name":"p","dynamic":true,"arguments":[{"name":"a","values":` + values(1, MaxValueLen+1) + `}]}]`, "value of 257 bytes"},
		{"template values", `"resourceTemplates":[{"uriTemplate":"n://{id}","name":"t","values":{"id":` + values(MaxValues, 3) + `}}]`,
			`"resourceTemplates":[{"uriTemplate":"n://{id}","name":"t","values":{"id":` + values(MaxValues+1, 3) + `}}]`, "101 values"},
		{"description", `"prompts":[{"name":"p","dynamic":true,"description":` + long(MaxDescription) + `}]`,
			`"prompts":[{"name":"p","dynamic":true,"description":` + long(MaxDescription+1) + `}]`, "description is 4097 bytes"},
		{"title", `"resources":[{"uri":"n://a","name":"n","dynamic":true,"title":` + long(MaxTitle) + `}]`,
			`"resources":[{"uri":"n://a","name":"n","dynamic":true,"title":` + long(MaxTitle+1) + `}]`, "title is 257 bytes"},
		{"resource name", `"resources":[{"uri":"n://a","dynamic":true,"name":` + long(MaxTitle) + `}]`,
			`"resources":[{"uri":"n://a","dynamic":true,"name":` + long(MaxTitle+1) + `}]`, "name is 257 bytes"},
		{"uri", `"resources":[{"uri":` + uri(MaxURI) + `,"name":"n","dynamic":true}]`,
			`"resources":[{"uri":` + uri(MaxURI+1) + `,"name":"n","dynamic":true}]`, "is 1025 bytes"},
		{"uri template", `"resourceTemplates":[{"uriTemplate":` + quoted("notes://"+strings.Repeat("u", MaxURI-len("notes://{id}"))+"{id}") + `,"name":"t"}]`,
			`"resourceTemplates":[{"uriTemplate":` + quoted("notes://"+strings.Repeat("u", MaxURI+1-len("notes://{id}"))+"{id}") + `,"name":"t"}]`, "is 1025 bytes"},
		{"template variables", `"resourceTemplates":[{"uriTemplate":"n://` + strings.Repeat("{v}/", 0) + varPath(MaxTemplateVariables) + `","name":"t"}]`,
			`"resourceTemplates":[{"uriTemplate":"n://` + varPath(MaxTemplateVariables+1) + `","name":"t"}]`, "9 variables"},
		{"text size", `"resources":[{"uri":"n://a","name":"n","text":` + long(MaxContentBytes) + `}]`,
			`"resources":[{"uri":"n://a","name":"n","text":` + long(MaxContentBytes+1) + `}]`, "content is 65537 bytes"},
		{"blob size", `"resources":[{"uri":"n://a","name":"n","blob":` + blob(MaxContentBytes) + `}]`,
			`"resources":[{"uri":"n://a","name":"n","blob":` + blob(MaxContentBytes+1) + `}]`, "content is 65537 bytes"},
		{"message size", `"prompts":[{"name":"p","messages":[{"role":"user","content":{"type":"text","text":` + long(MaxContentBytes-len(`{"type":"text","text":""}`)) + `}}]}]`,
			`"prompts":[{"name":"p","messages":[{"role":"user","content":{"type":"text","text":` + long(MaxContentBytes+1-len(`{"type":"text","text":""}`)) + `}}]}]`, "content is 65537 bytes"},
	} {
		if _, err := Parse([]byte(doc2(c.at))); err != nil {
			t.Errorf("%s: at the limit: %v", c.name, err)
		}
		if _, err := Parse([]byte(doc2(c.past))); err == nil || !strings.Contains(err.Error(), c.wantError) {
			t.Errorf("%s: past the limit: err = %v, want %q", c.name, err, c.wantError)
		}
	}
}

func varPath(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("{v%d}", i)
	}
	return strings.Join(parts, "/")
}

// TestCatalogRejects: the rules that are not counts or sizes.
func TestCatalogRejects(t *testing.T) {
	for extra, want := range map[string]string{
		`"prompts":[{"name":"a b","dynamic":true}]`:                                                               `name "a b"`,
		`"prompts":[{"name":"p","dynamic":true},{"name":"p","dynamic":true}]`:                                     `prompt "p" is declared twice`,
		`"prompts":[{"name":"p"}]`:                                                                                "give messages, or mark it dynamic",
		`"prompts":[{"name":"p","dynamic":true,"messages":[` + textMsg + `]}]`:                                    "a dynamic prompt has no messages",
		`"prompts":[{"name":"p","messages":[{"role":"system","content":{"type":"text","text":"x"}}]}]`:            `role "system"`,
		`"prompts":[{"name":"p","messages":[{"role":"user","content":{"type":"video"}}]}]`:                        `content type "video"`,
		`"prompts":[{"name":"p","messages":[{"role":"user","content":"text"}]}]`:                                  "MCP content object",
		`"prompts":[{"name":"p","messages":[{"role":"user","content":{"type":"text","text":"{{who}}"}}]}]`:        "placeholder {{who}} names no argument",
		`"prompts":[{"name":"p","dynamic":true,"arguments":[{"name":"1x"}]}]`:                                     `argument name "1x"`,
		`"prompts":[{"name":"p","dynamic":true,"arguments":[{"name":"x"},{"name":"x"}]}]`:                         `argument "x" is declared twice`,
		`"prompts":[{"name":"p","dynamic":true,"extra":1}]`:                                                       `unknown field "extra"`,
		`"resources":[{"uri":"file:///etc/passwd","name":"n","text":""}]`:                                         `scheme "file" is not allowed`,
		`"resources":[{"uri":"https://example.com/","name":"n","text":""}]`:                                       `scheme "https" is not allowed`,
		`"resources":[{"uri":"data:text/plain,x","name":"n","text":""}]`:                                          `scheme "data" is not allowed`,
		`"resources":[{"uri":"relative/path","name":"n","text":""}]`:                                              "absolute URI",
		`"resources":[{"uri":"notes://a b","name":"n","text":""}]`:                                                "holds the character U+0020",
		`"resources":[{"uri":"notes://a","text":""}]`:                                                             "name is missing",
		`"resources":[{"uri":"notes://a","name":"n"}]`:                                                            "exactly one of text, blob or dynamic",
		`"resources":[{"uri":"notes://a","name":"n","text":"","dynamic":true}]`:                                   "exactly one of text, blob or dynamic",
		`"resources":[{"uri":"notes://a","name":"n","blob":"***"}]`:                                               "not base64",
		`"resources":[{"uri":"notes://a","name":"n","text":"","mimeType":"text"}]`:                                `mimeType "text"`,
		`"resources":[{"uri":"notes://a","name":"n","text":""},{"uri":"notes://a","name":"m","text":""}]`:         `resource "notes://a" is declared twice`,
		`"resourceTemplates":[{"uriTemplate":"notes://x","name":"t"}]`:                                            "has no {variable}",
		`"resourceTemplates":[{"uriTemplate":"notes://{+path}","name":"t"}]`:                                      "only level 1",
		`"resourceTemplates":[{"uriTemplate":"notes://{a}/{a}","name":"t"}]`:                                      `variable "a" appears twice`,
		`"resourceTemplates":[{"uriTemplate":"notes://{a}}","name":"t"}]`:                                         "unbalanced braces",
		`"resourceTemplates":[{"uriTemplate":"https://x/{a}","name":"t"}]`:                                        `scheme "https"`,
		`"resourceTemplates":[{"uriTemplate":"notes://{a}","name":"t","values":{"b":["1"]}}]`:                     `"b", which is not a variable`,
		`"resourceTemplates":[{"uriTemplate":"notes://{a}","name":"t"},{"uriTemplate":"notes://{a}","name":"u"}]`: "declared twice",
	} {
		_, err := Parse([]byte(doc2(extra)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.90s: err = %v, want %q", extra, err, want)
		}
	}
	// Version 1 knows no prompts or resources.
	v1 := `{"abi":1,"tools":[{"name":"a","inputSchema":{"type":"object"}}],"prompts":[{"name":"p","dynamic":true}]}`
	if _, err := Parse([]byte(v1)); err == nil || !strings.Contains(err.Error(), "need abi 2") {
		t.Errorf("abi 1 with prompts: err = %v", err)
	}
}

func TestFill(t *testing.T) {
	got := Fill("Hello {{name}}, {{ name }} {{missing}}{", map[string]string{"name": "Ada"})
	if got != "Hello Ada, {{ name }} {" {
		t.Fatalf("Fill = %q", got)
	}
}

func TestCatalogClashes(t *testing.T) {
	parse := func(extra string) *Manifest {
		m, err := Parse([]byte(doc2(extra)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := parse(`"prompts":[{"name":"greet","dynamic":true}],"resources":[{"uri":"n://a","name":"a","text":"x"}]`)
	c := NewCatalog()
	if err := c.Add(`tool "one"`, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(`tool "one"`, a); err != nil { // the same module again: no clash
		t.Fatal(err)
	}
	for extra, want := range map[string]string{
		`"prompts":[{"name":"greet","dynamic":true}]`:                                                         `prompt "greet" is declared by both tool "one" and tool "two"`,
		`"resources":[{"uri":"n://a","name":"b","dynamic":true}]`:                                             `resource "n://a" is declared by both`,
		`"resourceTemplates":[{"uriTemplate":"n://{x}","name":"t"}]`:                                          "",
		`"prompts":[{"name":"other","dynamic":true}],"resources":[{"uri":"n://b","name":"b","dynamic":true}]`: "",
	} {
		err := catalogWith(t, a).Add(`tool "two"`, parse(extra))
		var clash *ClashError
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", extra, err)
			}
			continue
		}
		if !errors.As(err, &clash) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", extra, err, want)
		}
	}
	two := catalogWith(t, parse(`"resourceTemplates":[{"uriTemplate":"n://{x}","name":"t"}]`))
	if err := two.Add("m2", parse(`"resourceTemplates":[{"uriTemplate":"n://{x}","name":"u"}]`)); err == nil {
		t.Error("a template declared by two modules was accepted")
	}
	// Templates that differ only in their variables' names match the same
	// URIs: a clash. A different literal part does not.
	if err := two.Add("m3", parse(`"resourceTemplates":[{"uriTemplate":"n://{y}","name":"v"}]`)); err == nil {
		t.Error("n://{x} and n://{y} from two modules were accepted")
	}
	if err := two.Add("m4", parse(`"resourceTemplates":[{"uriTemplate":"n://{x}/notes","name":"w"}]`)); err != nil {
		t.Errorf("n://{x}/notes beside n://{x}: %v", err)
	}
	for tmpl, want := range map[string]string{"n://{x}": "n://{}", "a{b}c{d}e": "a{}c{}e", "plain": "plain", "x{y": "x{y", "x}y{": "x}y{"} {
		if got := templateShape(tmpl); got != want {
			t.Errorf("templateShape(%q) = %q, want %q", tmpl, got, want)
		}
	}
}

func catalogWith(t *testing.T, m *Manifest) *Catalog {
	t.Helper()
	c := NewCatalog()
	if err := c.Add(`tool "one"`, m); err != nil {
		t.Fatal(err)
	}
	return c
}
