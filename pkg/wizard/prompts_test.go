package wizard

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
)

// TestPromptExampleIsValidToolSource: the example tool the generate prompt
// teaches passes the same validation as any tool source and builds, so the
// model is never shown an import, directive or call Kiln refuses; the
// prompts render.
func TestPromptExampleIsValidToolSource(t *testing.T) {
	p, err := loadPrompts()
	if err != nil {
		t.Fatal(err)
	}
	system, err := p.generateSystem(build.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(system, "```go\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the generate prompt has no Go example")
	}
	// It builds: the model is never taught a toolkit call that does not
	// exist (the pool validates first, with the default policy).
	files := map[string][]byte{"main.go": []byte(example)}
	if problems := build.Validate(files, build.DefaultPolicy()); len(problems) > 0 {
		t.Fatalf("the example is refused: %v", problems)
	}
	engine, err := sandbox.NewEngine(t.Context(), sandbox.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(context.Background())
	// The developer's GOCACHE is shared with other work: never trim it.
	builder := &build.GoBuilder{Engine: engine, GoCache: testmodules.GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
	if _, err := builder.Build(t.Context(), files); err != nil {
		t.Fatalf("the example does not build: %v", err)
	}
	for _, want := range []string{"kiln.Fetch", "kiln.Secret", "net/http", "encoding/json", "kiln.Progress", "kiln.Log(ctx", "WithAnnotations"} {
		if !strings.Contains(system, want) {
			t.Errorf("the generate prompt does not mention %s", want)
		}
	}
	s := Spec{Name: "t", InputSchema: json.RawMessage(`{"type":"object"}`), Samples: []json.RawMessage{json.RawMessage(`{}`)},
		Env: []EnvVar{{Name: "API_KEY", Secret: true}}, Egress: []string{"api.example.com"}}
	user, err := p.toolPrompt(s)
	if err != nil || !strings.Contains(user, "API_KEY (secret)") || !strings.Contains(user, "api.example.com") {
		t.Fatalf("tool prompt: %v\n%s", err, user)
	}
	if _, err := render(p.propose, map[string]any{"MaxTools": MaxTools, "MaxSamples": MaxSamples,
		"Library": []libraryInfo{{Name: "units", Version: "1.0.0", Tools: []string{"convert_units"}}}}); err != nil {
		t.Fatal(err)
	}
}

// TestTransitions: the state machine refuses deploys before a tool passed
// and a second generation while one runs; working states are leased.
func TestTransitions(t *testing.T) {
	for _, c := range []struct {
		from, to State
		ok       bool
	}{
		{StateAccepted, StateDeployed, false},
		{StateGenerating, StateGenerating, false},
		{StateGenerating, StateDeployed, false},
		{StateProposing, StateAccepted, false},
		{StateDescribing, StateDeployed, false},
		{StateReady, StateDeployed, true},
		{StateDeployed, StateGenerating, true},
	} {
		s := &Session{State: c.from}
		err := s.move(c.to, "test")
		if (err == nil) != c.ok {
			t.Errorf("%s → %s: %v", c.from, c.to, err)
		}
	}
	for _, st := range []State{StateProposing, StateGenerating} {
		if !st.working() {
			t.Errorf("%s is not leased", st)
		}
	}
}

// TestSpecLimits: a proposal crossing each limit is refused with a message
// naming it.
// specMessages are what TestSpecLimits' refusals of a schema say.
var specMessages = map[string]string{
	"not an object":  `input_schema: the schema's type must be "object"`,
	"schema version": "not a version Kiln validates with (draft-07 or 2020-12)",
	"not a schema":   "input_schema: not a JSON Schema",
	"huge schema":    "input_schema: larger than",
}

func TestSpecLimits(t *testing.T) {
	ok := func() Spec {
		return Spec{Name: "ok", InputSchema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}}}`),
			Samples: []json.RawMessage{json.RawMessage(`{"a":"x"}`)}}
	}
	many := make([]Spec, MaxTools+1)
	for i := range many {
		many[i] = ok()
		many[i].Name = "t" + strings.Repeat("x", i)
	}
	if err := checkSpecs(many); err == nil || !strings.Contains(err.Error(), "1 to 16 tools") {
		t.Errorf("too many tools: %v", err)
	}
	for name, mutate := range map[string]func(*Spec){
		"bad name":      func(s *Spec) { s.Name = "no spaces" },
		"not an object": func(s *Spec) { s.InputSchema = json.RawMessage(`{"type":"string"}`) },
		"huge schema": func(s *Spec) {
			s.InputSchema = json.RawMessage(`{"type":"object","description":"` + strings.Repeat("x", maxSchemaBytes) + `"}`)
		},
		"sample type":  func(s *Spec) { s.Samples = []json.RawMessage{json.RawMessage(`{"a":1}`)} },
		"sample array": func(s *Spec) { s.Samples = []json.RawMessage{json.RawMessage(`[]`)} },
		"too many":     func(s *Spec) { s.Samples = make([]json.RawMessage, MaxSamples+1) },
		"env name":     func(s *Spec) { s.Env = []EnvVar{{Name: "KILN_SECRET"}} },
		"egress":       func(s *Spec) { s.Egress = []string{"http://a b"} },
		"egress count": func(s *Spec) { s.Egress = make([]string, maxEgress+1) },
		"big sample": func(s *Spec) {
			s.Samples = []json.RawMessage{json.RawMessage(`{"a":"` + strings.Repeat("x", maxSampleBytes) + `"}`)}
		},
		"long describe":  func(s *Spec) { s.Description = strings.Repeat("x", maxDescription+1) },
		"duplicate tool": nil,
		"schema version": func(s *Spec) {
			s.InputSchema = json.RawMessage(`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`)
		},
		"not a schema": func(s *Spec) { s.InputSchema = json.RawMessage(`{"type":7}`) },
	} {
		specs := []Spec{ok()}
		if mutate == nil {
			specs = append(specs, ok())
		} else {
			mutate(&specs[0])
		}
		err := checkSpecs(specs)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if want := specMessages[name]; !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not say %q", name, err, want)
		}
	}
	if err := checkSpecs([]Spec{ok()}); err != nil {
		t.Fatal(err)
	}
}

// TestFromEnv: no providers means no LLM (the wizard still works); a
// malformed KILN_LLM_PROVIDERS is an error, never a quiet "off"; a valid
// one gives an LLM, and its key is never in the error or the logs.
func TestFromEnv(t *testing.T) {
	cfg := Config{Store: &store.Store{}, Catalog: &tier.Catalog{}, Engine: &sandbox.Engine{}, Builds: &build.Pool{}}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	w, err := FromEnv(cfg, env(nil), llm.Options{})
	if err != nil || w.HasLLM() {
		t.Fatalf("no providers: %v, llm %v", err, w != nil && w.HasLLM())
	}
	w.Close()
	if _, err := FromEnv(cfg, env(map[string]string{"KILN_LLM_PROVIDERS": "gpt-4"}), llm.Options{}); err == nil {
		t.Fatal("a malformed KILN_LLM_PROVIDERS was accepted")
	}
	w, err = FromEnv(cfg, env(map[string]string{"KILN_LLM_PROVIDERS": "openai:m@http://127.0.0.1:1/v1", "KILN_LLM_KEY_1": "sk-secret"}), llm.Options{})
	if err != nil || !w.HasLLM() {
		t.Fatalf("one provider: %v", err)
	}
	w.Close()
}
