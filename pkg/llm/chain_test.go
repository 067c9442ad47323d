package llm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
)

// A provider failing with 5xx is retried with backoff, then left for the next.
func TestServerErrorsFallThroughToNextProvider(t *testing.T) {
	a, b := llmtest.New(t), llmtest.New(t)
	a.Enqueue(llmtest.Fault(500), llmtest.Fault(502), llmtest.Fault(500))
	b.Enqueue(llmtest.Answer("from B"))
	r := newRig()
	c := r.chain(t, llm.Options{}, openaiAt(t, a, provOpt{}), anthropicAt(t, b, provOpt{}))

	resp, err := c.Complete(context.Background(), ask("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "from B" || resp.Provider != "anthropic@"+b.URL || resp.Attempts != 4 {
		t.Fatalf("resp = %+v", resp)
	}
	if len(a.Requests()) != 3 || len(b.Requests()) != 1 {
		t.Fatalf("requests A=%d B=%d, want 3 and 1", len(a.Requests()), len(b.Requests()))
	}
	// Jitter 0 gives half the nominal backoff: 500ms then 1s nominal.
	if got := r.clock.Slept(); !slices.Equal(got, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}) {
		t.Fatalf("slept %v", got)
	}
	want := []string{"server_error", "server_error", "server_error", "ok"}
	if got := r.outcomes(); !slices.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if !strings.Contains(r.log.String(), "falling through") {
		t.Fatalf("no fall-through logged: %s", r.log)
	}
}

func TestRetryThenAnswerRecordsUsage(t *testing.T) {
	a := llmtest.New(t)
	a.Enqueue(llmtest.Fault(503), llmtest.Reply{Text: "ok", InputTokens: 100, OutputTokens: 20})
	r := newRig()
	c := r.chain(t, llm.Options{}, openaiAt(t, a, provOpt{}))
	resp, err := c.Complete(context.Background(), ask("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 2 || resp.Usage != (llm.Usage{InputTokens: 100, OutputTokens: 20}) {
		t.Fatalf("resp = %+v", resp)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.records) != 2 {
		t.Fatalf("records %+v", r.records)
	}
	last := r.records[1]
	if last.Meta.Customer != "cust-1" || last.Meta.Session != "sess-1" || last.Meta.PromptVersion != "v1" ||
		last.Provider != "openai@"+a.OpenAIURL() || last.Model != "model-openai" || last.Attempt != 2 ||
		last.Usage.InputTokens != 100 || last.Outcome != "ok" || r.records[0].Outcome != "overloaded" {
		t.Fatalf("records %+v", r.records)
	}
}

// Retry-After: 2 is waited for, once, on the injected clock.
func TestRetryAfterIsHonoured(t *testing.T) {
	for _, stream := range []bool{false, true} {
		a := llmtest.New(t)
		a.Enqueue(llmtest.Fault(429, "Retry-After", "2"), llmtest.Answer("done"))
		r := newRig()
		c := r.chain(t, llm.Options{}, anthropicAt(t, a, provOpt{stream: stream}))
		resp, err := c.Complete(context.Background(), ask("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text != "done" || len(a.Requests()) != 2 {
			t.Fatalf("stream=%v: resp %+v after %d requests", stream, resp, len(a.Requests()))
		}
		if got := r.clock.Slept(); len(got) != 1 || got[0] < 2*time.Second {
			t.Fatalf("stream=%v: slept %v, want one wait >= 2s", stream, got)
		}
	}
}

// The SDKs ignore a Retry-After over a minute; Kiln waits it in full when the
// deadline allows, and reads OpenAI's Retry-After-Ms.
func TestLongRetryAfterIsWaitedInFull(t *testing.T) {
	a := llmtest.New(t)
	a.Enqueue(llmtest.Fault(429, "Retry-After", "120"), llmtest.Fault(429, "Retry-After-Ms", "1500"), llmtest.Answer("done"))
	r := newRig()
	c := r.chain(t, llm.Options{}, openaiAt(t, a, provOpt{}))
	if _, err := c.Complete(context.Background(), ask("hi")); err != nil {
		t.Fatal(err)
	}
	if got := r.clock.Slept(); !slices.Equal(got, []time.Duration{120 * time.Second, 1500 * time.Millisecond}) {
		t.Fatalf("slept %v", got)
	}
}

// A Retry-After past the deadline is not waited for: the chain moves on, or
// fails saying why.
func TestRetryAfterBeyondDeadline(t *testing.T) {
	a, b := llmtest.New(t), llmtest.New(t)
	a.Enqueue(llmtest.Fault(429, "Retry-After", "30"))
	b.Enqueue(llmtest.Answer("from B"))
	r := newRig()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := r.chain(t, llm.Options{}, openaiAt(t, a, provOpt{}), openaiAt(t, b, provOpt{}))
	resp, err := c.Complete(ctx, ask("hi"))
	if err != nil || resp.Text != "from B" {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	if len(r.clock.Slept()) != 0 || len(a.Requests()) != 1 {
		t.Fatalf("slept %v, A requests %d", r.clock.Slept(), len(a.Requests()))
	}

	// Alone, the provider fails clearly and at once.
	a.Enqueue(llmtest.Fault(429, "Retry-After", "30"))
	c = r.chain(t, llm.Options{StepTimeout: 10 * time.Second}, openaiAt(t, a, provOpt{}))
	_, err = c.Complete(context.Background(), ask("hi"))
	if kindOf(t, err) != llm.KindRateLimited || !strings.Contains(err.Error(), "would pass the deadline") {
		t.Fatalf("err = %v", err)
	}
	if len(r.clock.Slept()) != 0 {
		t.Fatalf("slept %v", r.clock.Slept())
	}
}

// A hung provider times out per attempt (real timer: the request really
// hangs), is retried, and the chain reports it and moves on.
func TestHungProviderTimesOutPerAttempt(t *testing.T) {
	a, b := llmtest.New(t), llmtest.New(t)
	a.Enqueue(llmtest.Reply{Hang: true}, llmtest.Reply{Text: "x", Stall: true})
	b.Enqueue(llmtest.Answer("from B"))
	r := newRig()
	opts := llm.Options{AttemptTimeout: time.Second, MaxAttempts: 2}
	c := r.chain(t, opts, openaiAt(t, a, provOpt{stream: true}), anthropicAt(t, b, provOpt{}))
	resp, err := c.Complete(context.Background(), ask("hi"))
	if err != nil || resp.Text != "from B" {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	if got := r.outcomes(); !slices.Equal(got, []string{"timeout", "timeout", "ok"}) {
		t.Fatalf("outcomes %v", got)
	}

	a.Enqueue(llmtest.Reply{Hang: true})
	c = r.chain(t, llm.Options{AttemptTimeout: time.Second, MaxAttempts: 1}, openaiAt(t, a, provOpt{}))
	_, err = c.Complete(context.Background(), ask("hi"))
	if kindOf(t, err) != llm.KindTimeout || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "attempt timeout") {
		t.Fatalf("err = %v", err)
	}
}

// An auth error is not retried: the next provider is asked at once.
func TestAuthErrorFallsThroughWithoutRetry(t *testing.T) {
	a, b := llmtest.New(t), llmtest.New(t)
	a.Enqueue(llmtest.Fault(401))
	b.Enqueue(llmtest.Answer("from B"))
	r := newRig()
	c := r.chain(t, llm.Options{}, anthropicAt(t, a, provOpt{key: "k"}), openaiAt(t, b, provOpt{}))
	resp, err := c.Complete(context.Background(), ask("hi"))
	if err != nil || resp.Text != "from B" {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	if len(a.Requests()) != 1 || len(r.clock.Slept()) != 0 {
		t.Fatalf("A requests %d, slept %v", len(a.Requests()), r.clock.Slept())
	}
	if got := r.outcomes(); !slices.Equal(got, []string{"auth_error", "ok"}) {
		t.Fatalf("outcomes %v", got)
	}
}

func TestAllProvidersFailedNamesEach(t *testing.T) {
	a, b := llmtest.New(t), llmtest.New(t)
	a.Enqueue(llmtest.Fault(404, "", ""))
	b.Enqueue(llmtest.Fault(400))
	c := newRig().chain(t, llm.Options{}, openaiAt(t, a, provOpt{model: "nope"}), anthropicAt(t, b, provOpt{}))
	_, err := c.Complete(context.Background(), ask("hi"))
	if kindOf(t, err) != llm.KindBadRequest {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"all 2 providers failed", `"nope"`, "HTTP 404", "HTTP 400"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%q lacks %q", err, want)
		}
	}
}

// 50 parallel Completes never hold more than MaxConcurrent requests in
// flight, and do reach it.
func TestPoolBoundsConcurrency(t *testing.T) {
	const n, bound = 50, 4
	s := llmtest.New(t)
	gate := make(chan struct{})
	for range n {
		s.Enqueue(llmtest.Reply{Text: "ok", Gate: gate})
	}
	c := newRig().chain(t, llm.Options{MaxConcurrent: bound}, openaiAt(t, s, provOpt{}))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := c.Complete(context.Background(), ask("hi"))
			errs <- err
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitInFlight(ctx, bound); err != nil {
		t.Fatalf("never reached %d in flight: %v", bound, err)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Peak(); got != bound {
		t.Fatalf("peak in flight %d, want %d", got, bound)
	}
	if len(s.Requests()) != n {
		t.Fatalf("%d requests, want %d", len(s.Requests()), n)
	}
}

// A caller waiting for a pool slot gives up with its context.
func TestPoolWaitRespectsContext(t *testing.T) {
	s := llmtest.New(t)
	gate := make(chan struct{})
	defer close(gate)
	s.Enqueue(llmtest.Reply{Text: "ok", Gate: gate})
	c := newRig().chain(t, llm.Options{MaxConcurrent: 1}, openaiAt(t, s, provOpt{}))
	go func() { _, _ = c.Complete(context.Background(), ask("hold the slot")) }()
	if err := s.WaitInFlight(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Complete(ctx, ask("hi"))
	if kindOf(t, err) != llm.KindCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestBadRequestsFailBeforeAnyCall(t *testing.T) {
	c := newRig().chain(t, llm.Options{}, openaiAt(t, llmtest.New(t), provOpt{}))
	for name, r := range map[string]llm.Request{
		"no messages":    {},
		"assistant open": {Messages: []llm.Message{{Role: llm.RoleAssistant, Content: "x"}}},
		"bad role":       {Messages: []llm.Message{{Role: llm.RoleUser}, {Role: "system"}}},
		"bad schema":     {Messages: []llm.Message{{Role: llm.RoleUser}}, Schema: []byte(`{"type": 5}`)},
		"bad name":       {Messages: []llm.Message{{Role: llm.RoleUser}}, Schema: []byte(`{}`), SchemaName: "a b"},
	} {
		if _, err := c.Complete(context.Background(), r); kindOf(t, err) != llm.KindBadRequest {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestNoProviders(t *testing.T) {
	if _, err := llm.NewChain(nil, llm.Options{}); err == nil || !strings.Contains(err.Error(), "KILN_LLM_PROVIDERS") {
		t.Fatalf("err = %v", err)
	}
}
