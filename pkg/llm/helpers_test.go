package llm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
)

// clock is an injected clock: Sleep records the wait and advances Now at once.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// rig is a Chain under test with its clock, records and log.
type rig struct {
	clock   *clock
	log     *bytes.Buffer
	mu      sync.Mutex
	records []llm.Record
}

// options returns Options wired to the rig: fake clock, no jitter (backoff is
// then exactly half its nominal value), captured log and records.
func (r *rig) options(o llm.Options) llm.Options {
	o.Now, o.Sleep = r.clock.Now, r.clock.Sleep
	o.Jitter = func() float64 { return 0 }
	o.Logger = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Record = func(rec llm.Record) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.records = append(r.records, rec)
	}
	return o
}

func (r *rig) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.records {
		out = append(out, rec.Outcome)
	}
	return out
}

func newRig() *rig { return &rig{clock: newClock(), log: &bytes.Buffer{}} }

func (r *rig) chain(t *testing.T, o llm.Options, ps ...llm.Provider) *llm.Chain {
	t.Helper()
	c, err := llm.NewChain(ps, r.options(o))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type provOpt struct {
	stream bool
	key    string
	model  string
}

func openaiAt(t *testing.T, s *llmtest.Server, o provOpt) llm.Provider {
	return provider(t, llm.APIOpenAI, s.OpenAIURL(), o)
}

func anthropicAt(t *testing.T, s *llmtest.Server, o provOpt) llm.Provider {
	return provider(t, llm.APIAnthropic, s.URL, o)
}

func provider(t *testing.T, api llm.API, url string, o provOpt) llm.Provider {
	t.Helper()
	if o.model == "" {
		o.model = "model-" + string(api)
	}
	p, err := llm.NewProvider(llm.ProviderConfig{API: api, Model: o.model, BaseURL: url,
		Key: llm.NewSecret(o.key), Stream: o.stream}, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ask(text string) llm.Request {
	return llm.Request{
		System:   "You are terse.",
		Messages: []llm.Message{{Role: llm.RoleUser, Content: text}},
		Meta:     llm.Meta{Customer: "cust-1", Session: "sess-1", Purpose: "test", PromptVersion: "v1"},
	}
}

func kindOf(t *testing.T, err error) llm.Kind {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	return e.Kind
}

func body(t *testing.T, rec llmtest.Recorded) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body, &m); err != nil {
		t.Fatalf("request body %q: %v", rec.Body, err)
	}
	return m
}
