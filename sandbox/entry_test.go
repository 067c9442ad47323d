package sandbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

// TestParseEntryAnswer: a dynamic prompt's or resource's answer is checked
// as MCP's GetPromptResult or ReadResourceResult, or is the module's error.
func TestParseEntryAnswer(t *testing.T) {
	for _, c := range []struct{ entry, doc, want string }{
		{manifest.PromptEntry, `{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}]}`, ""},
		{manifest.PromptEntry, `{"error":"no such mood"}`, ""},
		{manifest.PromptEntry, `{"messages":[]}`, "has no messages"},
		{manifest.PromptEntry, `{"messages":[{"role":"system","content":{"type":"text"}}]}`, `role "system"`},
		{manifest.PromptEntry, `{"messages":[{"role":"user","content":{"type":"video"}}]}`, `content type "video"`},
		{manifest.PromptEntry, `[]`, "not a JSON object"},
		{manifest.ResourceEntry, `{"contents":[{"uri":"n://a","text":""}]}`, ""},
		{manifest.ResourceEntry, `{"contents":[{"uri":"n://a","blob":"AA=="}]}`, ""},
		{manifest.ResourceEntry, `{"contents":[]}`, "no contents"},
		{manifest.ResourceEntry, `{"contents":[{"text":"x"}]}`, "needs a uri"},
		{manifest.ResourceEntry, `{"contents":[{"uri":"n://a","text":"x","blob":"AA=="}]}`, "exactly one of text or blob"},
		{manifest.ResourceEntry, `{"contents":[{"uri":"n://a"}]`, "invalid kiln:resource answer"},
	} {
		a, err := parseEntryAnswer(c.entry, []byte(c.doc))
		if c.want == "" {
			if err != nil || string(a.Document) != c.doc || a.IsError != strings.Contains(c.doc, `"error"`) {
				t.Errorf("%s %s: %+v, %v", c.entry, c.doc, a, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: err %v, want %q", c.entry, c.doc, err, c.want)
		}
	}
}

// TestEntryRequest: a reserved entry runs only for a module that declares
// something it serves, with a JSON object as input.
func TestEntryRequest(t *testing.T) {
	parse := func(doc string) *Module {
		m, err := manifest.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return &Module{Manifest: m}
	}
	tools := `{"abi":2,"tools":[{"name":"a","inputSchema":{"type":"object"}}]`
	static := parse(tools + `,"prompts":[{"name":"p","messages":[{"role":"user","content":{"type":"text","text":"x"}}]}],"resources":[{"uri":"n://a","name":"a","text":""}]}`)
	dynamic := parse(tools + `,"prompts":[{"name":"p","dynamic":true}],"resourceTemplates":[{"uriTemplate":"n://{x}","name":"t"}]}`)
	for _, c := range []struct {
		m          *Module
		tool, args string
		entry      bool
		want       string
	}{
		{static, manifest.PromptEntry, `{}`, true, "declares no dynamic prompt"},
		{static, manifest.ResourceEntry, `{}`, true, "declares no dynamic resource"},
		{dynamic, manifest.PromptEntry, `{"name":"p"}`, true, ""},
		{dynamic, manifest.ResourceEntry, `{"uri":"n://1"}`, true, ""},
		{dynamic, manifest.PromptEntry, `[]`, true, "must be a JSON object"},
		{dynamic, "a", `{}`, false, ""},
	} {
		entry, err := entryRequest(c.m, Request{Tool: c.tool, Args: []byte(c.args)})
		var re *RequestError
		if entry != c.entry || (c.want == "") != (err == nil) || err != nil && (!errors.As(err, &re) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s %s: entry %v, err %v, want %q", c.tool, c.args, entry, err, c.want)
		}
	}
}
