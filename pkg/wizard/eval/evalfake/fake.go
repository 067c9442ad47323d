// Package evalfake is a scripted LLM for the evaluation harness (and any
// test that wants whole sessions without a real provider). Behind an
// llmtest.Server, in the providers' real wire formats, it reads each
// prompt: the wizard's propose prompt (a task's description) is answered
// with that task's proposal, its generate and repair prompts (a tool's
// specification) with Go source for that tool. Where a task keeps a broken
// first answer (testdata/TASK/TOOL.first.go: one that does not compile or
// crashes on its sample call), that comes first, so the repair path runs.
// Every answer then goes through the wizard's real validation, build and
// sandbox; nothing here knows how the harness scores.
//
// The network tasks call public APIs (Open-Meteo, Frankfurter, GitHub,
// Alpha Vantage); Upstream stands in for them on 127.0.0.1, and the
// answers name it where the real ones would name the public host.
package evalfake

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/llm/llmtest"
)

//go:embed testdata
var answers embed.FS

// SecretValue is the Alpha Vantage key Upstream accepts: the value a
// person supplies for the stock-quote task's secret.
const SecretValue = "av-demo-key-7f3c"

// Fake is the scripted LLM and the stand-in APIs.
type Fake struct {
	LLM      *llmtest.Server
	Upstream *httptest.Server

	tasks map[string]string // description → task directory
	tools map[string]string // tool name → task directory

	mu    sync.Mutex
	asked map[string]int // tool name → source answers given
}

// New starts a fake answering the tasks of descriptions (description →
// task id, the directory of its answers under testdata).
func New(t testing.TB, descriptions map[string]string) *Fake {
	t.Helper()
	f := &Fake{LLM: llmtest.New(t), tasks: descriptions, tools: map[string]string{}, asked: map[string]int{}}
	f.Upstream = httptest.NewServer(upstream())
	t.Cleanup(f.Upstream.Close)
	for _, id := range descriptions {
		files, err := fs.Glob(answers, "testdata/"+id+"/*.go")
		if err != nil || len(files) == 0 {
			t.Fatalf("evalfake: no answers for task %s", id)
		}
		for _, file := range files {
			if name := path.Base(file); !strings.HasSuffix(name, ".first.go") {
				f.tools[strings.TrimSuffix(name, ".go")] = id
			}
		}
	}
	f.LLM.Respond(f.answer)
	return f
}

// UpstreamHost is Upstream's host:port, as the answers name it.
func (f *Fake) UpstreamHost() string { return strings.TrimPrefix(f.Upstream.URL, "http://") }

var toolLine = regexp.MustCompile(`(?m)^Name: ([A-Za-z0-9_.-]+)$`)

// answer reads the prompt of a request and answers it.
func (f *Fake) answer(r llmtest.Recorded) llmtest.Reply {
	prompt, err := userPrompt(r.Body)
	if err != nil {
		return llmtest.Reply{Status: http.StatusBadRequest, Text: "evalfake: " + err.Error()}
	}
	if strings.HasPrefix(prompt, "Write the tool of this specification.") {
		m := toolLine.FindStringSubmatch(prompt)
		if m == nil {
			return llmtest.Reply{Status: http.StatusBadRequest, Text: "evalfake: the generate prompt names no tool"}
		}
		return f.source(m[1])
	}
	id, ok := f.tasks[strings.TrimSpace(prompt)]
	if !ok {
		return llmtest.Reply{Status: http.StatusBadRequest, Text: "evalfake: no task has this description"}
	}
	return f.file(id + "/proposal.json")
}

// source is the next source answer for tool: the broken first one, if
// the task has one and it was not given yet, else the working one.
func (f *Fake) source(tool string) llmtest.Reply {
	id, ok := f.tools[tool]
	if !ok {
		return llmtest.Reply{Status: http.StatusBadRequest, Text: "evalfake: no task has a tool " + tool}
	}
	f.mu.Lock()
	n := f.asked[tool]
	f.asked[tool]++
	f.mu.Unlock()
	name := id + "/" + tool + ".go"
	if _, err := fs.Stat(answers, "testdata/"+id+"/"+tool+".first.go"); err == nil && n == 0 {
		name = id + "/" + tool + ".first.go"
	}
	src := f.file(name)
	if src.Status != 0 {
		return src
	}
	b, _ := json.Marshal(map[string]string{"main_go": src.Text})
	return llmtest.Reply{Text: string(b), InputTokens: 2400, OutputTokens: len(src.Text) / 4}
}

// file is an answer file with Upstream's address put in.
func (f *Fake) file(name string) llmtest.Reply {
	b, err := answers.ReadFile("testdata/" + name)
	if err != nil {
		return llmtest.Reply{Status: http.StatusInternalServerError, Text: "evalfake: " + err.Error()}
	}
	text := strings.ReplaceAll(string(b), "{{UPSTREAM}}", f.UpstreamHost())
	return llmtest.Reply{Text: text, InputTokens: 1800, OutputTokens: len(text) / 4}
}

// userPrompt is the first user message of an OpenAI or Anthropic request:
// a string, or (Anthropic) a list of text blocks.
func userPrompt(body []byte) (string, error) {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", fmt.Errorf("the request is not JSON: %v", err)
	}
	for _, m := range req.Messages {
		if m.Role != "user" {
			continue
		}
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			return s, nil
		}
		var blocks []struct{ Type, Text string }
		if err := json.Unmarshal(m.Content, &blocks); err != nil {
			return "", fmt.Errorf("a user message's content is neither text nor blocks")
		}
		var b strings.Builder
		for _, bl := range blocks {
			b.WriteString(bl.Text)
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("the request has no user message")
}
