package wizard

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	"github.com/kilnhq/kiln/pkg/build"
)

// The prompts are versioned files: a change to a template that changes what
// the model is asked gets a new file and a new version, so every recorded
// generation names the words that produced it.
//
//go:embed prompts/*.tmpl
var promptFiles embed.FS

// Prompt versions, recorded with every generation.
const (
	PromptPropose  = "propose/1"
	PromptGenerate = "generate/2"
	PromptRepair   = "repair/1"
)

// prompts are the parsed templates. Parsing is cheap and the files are
// embedded, so each Wizard parses its own (no package-level state).
type prompts struct {
	propose, generate, tool, repair *template.Template
}

func loadPrompts() (*prompts, error) {
	funcs := template.FuncMap{"join": strings.Join}
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).Option("missingkey=error").ParseFS(promptFiles, "prompts/"+name)
		if err != nil {
			return nil, fmt.Errorf("wizard: prompt %s: %w", name, err)
		}
		return t, nil
	}
	var p prompts
	var err error
	for _, f := range []struct {
		t    **template.Template
		name string
	}{{&p.propose, "propose.v1.tmpl"}, {&p.generate, "generate.v2.tmpl"}, {&p.tool, "tool.v1.tmpl"}, {&p.repair, "repair.v1.tmpl"}} {
		if *f.t, err = parse(f.name); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

func render(t *template.Template, v any) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("wizard: render prompt %s: %w", t.Name(), err)
	}
	return b.String(), nil
}

// libraryInfo is a library module as the propose prompt lists it.
type libraryInfo struct {
	Name, Version, Description string
	Tools                      []string
}

// generateSystem is the system prompt of code generation, with the imports
// the customer's policy allows.
func (p *prompts) generateSystem(policy build.Policy) (string, error) {
	return render(p.generate, map[string]any{"Imports": policy.AllowedImports})
}

// toolPrompt states the specification of one tool.
func (p *prompts) toolPrompt(s Spec) (string, error) {
	return render(p.tool, map[string]any{
		"Name": s.Name, "Description": s.Description, "InputSchema": string(s.InputSchema),
		"OutputSchema": string(s.OutputSchema), "Env": s.Env, "Egress": s.Egress, "Samples": s.Samples,
	})
}

// repairPrompt sends back what went wrong with the last source.
func (p *prompts) repairPrompt(name string, round int, source, feedback string) (string, error) {
	return render(p.repair, map[string]any{"Name": name, "Round": round, "Source": source, "Feedback": feedback})
}

// Structured answers: the schemas the LLM's JSON must satisfy (pkg/llm
// validates them on arrival and re-asks a bounded number of times).
var (
	codeSchema = json.RawMessage(`{"type":"object","additionalProperties":false,"required":["main_go"],
		"properties":{"main_go":{"type":"string","minLength":1}}}`)
	proposalSchema = json.RawMessage(`{"type":"object","required":["tools"],"properties":{
		"tools":{"type":"array","minItems":1,"items":{"type":"object",
			"required":["name","description","input_schema","samples"],
			"properties":{
				"name":{"type":"string"},"description":{"type":"string"},
				"input_schema":{"type":"object"},"output_schema":{"type":"object"},
				"env":{"type":"array","items":{"type":"object","required":["name"],"properties":{
					"name":{"type":"string"},"description":{"type":"string"},"secret":{"type":"boolean"},"required":{"type":"boolean"}}}},
				"egress":{"type":"array","items":{"type":"string"}},
				"samples":{"type":"array","items":{"type":"object"}}}}},
		"library":{"type":"array","items":{"type":"object","required":["name","version"],"properties":{
			"name":{"type":"string"},"version":{"type":"string"},"tool":{"type":"string"},"reason":{"type":"string"}}}}}}`)
)
