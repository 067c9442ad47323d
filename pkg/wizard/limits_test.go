package wizard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/wizard"
)

// chainWith is an LLM chain on the env's fake endpoint with opts.
func (e *env) chainWith(key string, opts llm.Options) llm.Completer {
	e.t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := llm.New([]llm.ProviderConfig{{API: llm.APIOpenAI, Model: "test-model", BaseURL: e.llm.OpenAIURL(), Key: llm.NewSecret(key)}}, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestHungProviderTimesOutAndSessionSaysSo: a provider that never answers
// is given up on at the attempt timeout. The proposal's session goes back
// to describing with an error naming the timeout and what to do; a tool
// whose generation hangs ends failed with the same kind of sentence, and
// the session settles instead of waiting for ever.
func TestHungProviderTimesOutAndSessionSaysSo(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	w := e.wizard(e.chainWith("", llm.Options{AttemptTimeout: 300 * time.Millisecond, MaxAttempts: 1}))
	cust := e.customer(tier.Free)
	ctx := t.Context()
	e.llm.Enqueue(llmtest.Reply{Hang: true})
	sess, err := w.Create(ctx, cust, nil, "count the words of a text")
	if err != nil {
		t.Fatal(err)
	}
	sess = settle(t, w, cust, sess.ID)
	mustState(t, sess, wizard.StateDescribing)
	if !contains(sess.Error, "attempt timeout") || !contains(sess.Error, "Propose again") {
		t.Fatalf("the session's error does not say what happened and what to do: %q", sess.Error)
	}

	sess = manualSession(t, e, cust, countSpec)
	e.llm.Enqueue(llmtest.Reply{Hang: true})
	if sess, err = w.Generate(ctx, cust, sess.ID, sess.Version, nil); err != nil {
		t.Fatal(err)
	}
	sess = settle(t, w, cust, sess.ID)
	mustState(t, sess, wizard.StateFailed)
	c := toolOf(t, sess, "count_words")
	if c.Status != wizard.ToolFailed || !contains(c.Error, "the LLM did not answer") || !contains(c.Error, "attempt timeout") ||
		!contains(c.Error, "generate again later") {
		t.Fatalf("count_words: %+v", c)
	}
}

// invalidSource is refused by validation (os is not allowed): no build.
const invalidSource = "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(0) }\n"

// TestParallelGenerationsNeverExceedPool: 50 sessions generating at once
// through one chain with a pool of 4 never have more than 4 requests at
// the provider; they do reach 4, and every generation is answered (the
// first answers held until 4 are in flight, the repairs at once).
func TestParallelGenerationsNeverExceedPool(t *testing.T) {
	const n, bound = 50, 4
	e := newEnv(t, storetest.SQLite(t))
	w := e.wizard(e.chainWith("", llm.Options{MaxConcurrent: bound}))
	quotaPlan(t, e, "bulk", 10*n)
	cust := e.customer("bulk")
	ctx := t.Context()
	gate := make(chan struct{})
	answer := mustJSON(t, map[string]string{"main_go": invalidSource})
	for range n {
		e.llm.Enqueue(llmtest.Reply{Gate: gate, Text: answer})
	}
	e.llm.Respond(func(llmtest.Recorded) llmtest.Reply { return llmtest.Answer(answer) })
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := manualSession(t, e, cust, countSpec)
		ids[i] = s.ID
		wg.Go(func() {
			_, err := w.Generate(ctx, cust, s.ID, s.Version, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := e.llm.WaitInFlight(wait, bound); err != nil {
		t.Fatalf("never reached %d in flight: %v", bound, err)
	}
	close(gate)
	for _, id := range ids {
		if s := settle(t, w, cust, id); toolOf(t, s, "count_words").Status != wizard.ToolFailed {
			t.Fatalf("session %s: %+v", id, s.Tools[0])
		}
	}
	want := n * (1 + wizard.DefaultRepairs)
	if peak, reqs := e.llm.Peak(), len(e.llm.Requests()); peak != bound || reqs != want {
		t.Fatalf("peak in flight %d (want %d), %d requests (want %d)", peak, bound, reqs, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeyNeverReachesLogsOrSessions: with a provider key set, a provider
// that echoes the key in its error (401) and one that fails with a 500
// leave no trace of the key in the wizard's and the chain's logs, in the
// session as the API shows it, or in its stored events; the key did go to
// the provider, in the Authorization header.
func TestKeyNeverReachesLogsOrSessions(t *testing.T) {
	const key = "sk-live-0123456789abcdefSECRET"
	e := newEnv(t, storetest.SQLite(t))
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := e.wizard(e.chainWith(key, llm.Options{Logger: logger, MaxAttempts: 2,
		Sleep: func(context.Context, time.Duration) error { return nil }}), func(c *wizard.Config) { c.Logger = logger })
	cust := e.customer(tier.Free)
	ctx := t.Context()
	e.llm.Enqueue(llmtest.Reply{Status: 401, Text: "Incorrect API key provided: " + key})
	sess, err := w.Create(ctx, cust, nil, "count words")
	if err != nil {
		t.Fatal(err)
	}
	sess = settle(t, w, cust, sess.ID)
	sess = manualSession(t, e, cust, countSpec)
	e.llm.Enqueue(llmtest.Fault(500), llmtest.Reply{Status: 500, Text: "upstream said " + key})
	if sess, err = w.Generate(ctx, cust, sess.ID, sess.Version, nil); err != nil {
		t.Fatal(err)
	}
	sess = settle(t, w, cust, sess.ID)
	if toolOf(t, sess, "count_words").Status != wizard.ToolFailed {
		t.Fatalf("the tool should have failed: %+v", sess.Tools[0])
	}
	var seen []string
	all, err := w.List(ctx, cust)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		seen = append(seen, mustJSON(t, s))
		evs, err := e.store.WizardEvents(ctx, cust, s.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, mustJSON(t, evs))
	}
	seen = append(seen, logs.String())
	for _, text := range seen {
		if strings.Contains(text, key) {
			t.Fatalf("the key leaked into: %s", text)
		}
	}
	if first := all[len(all)-1]; !contains(first.Error, "401") || !contains(toolOf(t, sess, "count_words").Error, "the LLM did not answer") {
		t.Errorf("the provider's failures were not reported: %q, %+v", first.Error, sess.Tools[0])
	}
	for _, r := range e.llm.Requests() {
		if r.Header.Get("Authorization") != "Bearer "+key {
			t.Fatalf("a request went without the key: %v", r.Header)
		}
	}
}

// syncBuffer is a log sink written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
