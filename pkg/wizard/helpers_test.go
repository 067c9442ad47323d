package wizard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/sandbox"
)

// modules is the CacheDir of the tests' engines: each fixture and built
// tool compiles once per test binary.
var modules testmodules.ModuleCache

func TestMain(m *testing.M) { os.Exit(modules.Run(m)) }

// sharedPool builds for every test of the package, so a source built once
// (on SQLite, say) is not built again (on PostgreSQL).
var (
	poolOnce   sync.Once
	sharedPool *build.Pool
	poolErr    error
)

func buildPool(t testing.TB) *build.Pool {
	t.Helper()
	poolOnce.Do(func() {
		var engine *sandbox.Engine
		engine, poolErr = sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: modules.Dir(t)})
		if poolErr != nil {
			return
		}
		// The developer's GOCACHE is shared with other work: never trim it.
		builder := &build.GoBuilder{Engine: engine, GoCache: testmodules.GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
		sharedPool = build.NewPool(build.PoolConfig{Builder: builder, Workers: 2})
	})
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	return sharedPool
}

// clock is the one clock of a test: the store's, which the wizard reads.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// env is a real store, sandbox, build pool and a fake LLM endpoint.
type env struct {
	t      testing.TB
	store  *store.Store
	clock  *clock
	engine *sandbox.Engine
	llm    *llmtest.Server
}

func newEnv(t testing.TB, s *store.Store) *env {
	t.Helper()
	c := &clock{}
	engine, err := sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: modules.Dir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	return &env{t: t, store: s.WithClock(c.now), clock: c, engine: engine, llm: llmtest.New(t)}
}

// chain is an LLM chain on the fake endpoint, speaking api's wire format.
func (e *env) chain(api llm.API) llm.Completer {
	url := e.llm.OpenAIURL()
	if api == llm.APIAnthropic {
		url = e.llm.URL
	}
	c, err := llm.New([]llm.ProviderConfig{{API: api, Model: "test-model", BaseURL: url, Key: llm.NewSecret("sk-test")}},
		llm.Options{Logger: slog.New(slog.DiscardHandler), Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// wizard starts a wizard on the env; completer nil means no LLM.
func (e *env) wizard(completer llm.Completer, adjust ...func(*wizard.Config)) *wizard.Wizard {
	e.t.Helper()
	cfg := wizard.Config{Store: e.store, Catalog: tier.NewCatalog(e.store), Engine: e.engine, Builds: buildPool(e.t),
		LLM: completer, Logger: slog.New(slog.DiscardHandler), Parallel: 1}
	for _, a := range adjust {
		a(&cfg)
	}
	w, err := wizard.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.Close)
	return w
}

func (e *env) customer(plan string) string {
	e.t.Helper()
	c := store.Customer{Name: "c-" + fmt.Sprint(time.Now().UnixNano()), Tier: plan}
	if err := e.store.CreateCustomer(e.t.Context(), &c); err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// settle waits, through the event stream, until the session rests.
func settle(t testing.TB, w *wizard.Wizard, customer, id string) *wizard.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if err := w.Stream(ctx, customer, id, 0, func(wizard.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	s, err := w.Get(ctx, customer, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustState(t *testing.T, s *wizard.Session, want wizard.State) {
	t.Helper()
	if s.State != want {
		b, _ := json.MarshalIndent(s, "", "  ")
		t.Fatalf("state %s, want %s:\n%s", s.State, want, b)
	}
}

// code is the LLM's answer carrying a main.go.
func code(src string) llmtest.Reply {
	b, _ := json.Marshal(map[string]string{"main_go": src})
	return llmtest.Answer(string(b))
}

func proposal(specs ...wizard.Spec) llmtest.Reply {
	b, _ := json.Marshal(map[string]any{"tools": specs})
	return llmtest.Answer(string(b))
}

func spec(name, outField, outType, sample string) wizard.Spec {
	return wizard.Spec{
		Name: name, Description: "test tool " + name,
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`),
		OutputSchema: json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{%q:{"type":%q}},"required":[%q]}`, outField, outType, outField)),
		Samples:      []json.RawMessage{json.RawMessage(sample)},
	}
}

var (
	countSpec = spec("count_words", "words", "integer", `{"text":"a b c"}`)
	shoutSpec = spec("shout", "text", "string", `{"text":"hi"}`)
)

// source is a tool module offering one tool named name whose handler body
// is body (given i of type in, returning out).
func source(name, outDecl, body string) string {
	return fmt.Sprintf(`package main

import (
	"context"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Text string `+"`json:\"text\" description:\"The text\"`"+`
}

type out struct {
	%s
}

func handle(_ context.Context, i in) (out, error) {
	_ = strings.TrimSpace
	%s
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{kiln.NewTool(%q, "test tool", handle)}})
}
`, outDecl, body, name)
}

var (
	countDecl  = "Words int `json:\"words\"`"
	shoutDecl  = "Text string `json:\"text\"`"
	goodCount  = source("count_words", countDecl, "return out{Words: len(strings.Fields(i.Text))}, nil")
	crashCount = source("count_words", countDecl, "var m map[string]int\n\tm[i.Text] = 1\n\treturn out{}, nil")
	goodShout  = source("shout", shoutDecl, "return out{Text: strings.ToUpper(i.Text)}, nil")
	badShout   = source("shout", shoutDecl, "return out{Text: strings.ToUpper(i.Text) + 1}, nil")
	syntaxErr  = "package main\n\nfunc main() {\n"
)

// manualSession makes a session in describing (no LLM needed) and accepts specs.
func manualSession(t testing.TB, e *env, customer string, specs ...wizard.Spec) *wizard.Session {
	t.Helper()
	plain := e.wizard(nil)
	s, err := plain.Create(t.Context(), customer, nil, "tools for a test")
	if err != nil {
		t.Fatal(err)
	}
	s, err = plain.Accept(t.Context(), customer, s.ID, s.Version, specs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func toolOf(t testing.TB, s *wizard.Session, name string) *wizard.Tool {
	t.Helper()
	for _, tl := range s.Tools {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s in %+v", name, s.Tools)
	return nil
}

func contains(haystack, needle string) bool { return strings.Contains(haystack, needle) }
