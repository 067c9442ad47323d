package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
)

// Both adapters, plain and streaming, send the real wire format and read
// text and usage back.
func TestAdaptersWireFormats(t *testing.T) {
	for _, api := range []llm.API{llm.APIOpenAI, llm.APIAnthropic} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", api, stream), func(t *testing.T) {
				s := llmtest.New(t)
				s.Enqueue(llmtest.Reply{Text: `{"name":"hello world"}`, InputTokens: 13, OutputTokens: 5})
				p := provider(t, api, map[llm.API]string{llm.APIOpenAI: s.OpenAIURL(), llm.APIAnthropic: s.URL}[api],
					provOpt{stream: stream, model: "qwen2.5-coder:7b"})
				req := schemaAsk()
				req.MaxTokens = 321
				resp, err := p.Complete(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Text != `{"name":"hello world"}` || resp.Usage != (llm.Usage{InputTokens: 13, OutputTokens: 5}) ||
					resp.Model != "qwen2.5-coder:7b" || resp.Attempts != 1 {
					t.Fatalf("resp = %+v", resp)
				}
				rec := s.Requests()[0]
				if rec.Stream != stream {
					t.Fatalf("stream = %v", rec.Stream)
				}
				checkBody(t, api, stream, body(t, rec))
			})
		}
	}
}

func checkBody(t *testing.T, api llm.API, stream bool, b map[string]any) {
	t.Helper()
	js := func(v any) string { out, _ := json.Marshal(v); return string(out) }
	if b["model"] != "qwen2.5-coder:7b" {
		t.Fatalf("model %v", b["model"])
	}
	switch api {
	case llm.APIOpenAI:
		msgs := js(b["messages"])
		if !strings.Contains(msgs, `"role":"system"`) || !strings.Contains(msgs, `"content":"name a tool"`) {
			t.Fatalf("messages %s", msgs)
		}
		if b["max_completion_tokens"] != 321.0 {
			t.Fatalf("max_completion_tokens %v", b["max_completion_tokens"])
		}
		rf := js(b["response_format"])
		if !strings.Contains(rf, `"type":"json_schema"`) || !strings.Contains(rf, `"name":"tool_name"`) ||
			!strings.Contains(rf, `"required":["name"]`) {
			t.Fatalf("response_format %s", rf)
		}
		if stream && js(b["stream_options"]) != `{"include_usage":true}` {
			t.Fatalf("stream_options %s", js(b["stream_options"]))
		}
	case llm.APIAnthropic:
		if js(b["system"]) != `[{"text":"You are terse.","type":"text"}]` || b["max_tokens"] != 321.0 {
			t.Fatalf("system %s max_tokens %v", js(b["system"]), b["max_tokens"])
		}
		oc := js(b["output_config"])
		if !strings.Contains(oc, `"type":"json_schema"`) || !strings.Contains(oc, `"required":["name"]`) {
			t.Fatalf("output_config %s", oc)
		}
	}
}

// In-stream error events are classified like HTTP errors.
func TestStreamErrorEvents(t *testing.T) {
	s := llmtest.New(t)
	s.Enqueue(llmtest.Reply{Text: "partial answer", StreamError: "overloaded_error"})
	_, err := anthropicAt(t, s, provOpt{stream: true}).Complete(context.Background(), ask("hi"))
	if kindOf(t, err) != llm.KindOverloaded || !kindOf(t, err).Transient() {
		t.Fatalf("err = %v", err)
	}
	s.Enqueue(llmtest.Reply{Text: "partial answer", StreamError: "server_error"})
	_, err = openaiAt(t, s, provOpt{stream: true}).Complete(context.Background(), ask("hi"))
	if !kindOf(t, err).Transient() {
		t.Fatalf("err = %v", err)
	}
}

// The key is sent only as its header, never in a body, URL, error or log,
// and the SDKs' environment variables are not read.
func TestKeyNeverLeaks(t *testing.T) {
	const keyA, keyB = "sk-test-SECRET-aaaa", "sk-ant-SECRET-bbbb"
	for _, v := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"} {
		t.Setenv(v, "env-LEAK")
	}
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	a, b := llmtest.New(t), llmtest.New(t)
	// Vendors echo (parts of) a bad key in 401 messages; ours must not.
	a.Enqueue(llmtest.Reply{Status: 401, Text: "Incorrect API key provided: " + keyA})
	b.Enqueue(llmtest.Reply{Status: 500, Text: "boom " + keyB}, llmtest.Reply{Status: 500, Text: "boom " + keyB},
		llmtest.Reply{Status: 400, Text: "bad " + keyB})
	r := newRig()
	c := r.chain(t, llm.Options{}, openaiAt(t, a, provOpt{key: keyA}), anthropicAt(t, b, provOpt{key: keyB, stream: true}))
	_, err := c.Complete(context.Background(), ask("hi"))
	if err == nil {
		t.Fatal("want an error")
	}
	slog.New(slog.NewTextHandler(r.log, nil)).Error("complete failed", "err", err, "e", fmt.Sprintf("%+v|%#v", err, err))
	for _, leak := range []string{keyA, keyB, "env-LEAK"} {
		if strings.Contains(err.Error(), leak) || strings.Contains(r.log.String(), leak) {
			t.Fatalf("%q leaked:\nerr: %v\nlog: %s", leak, err, r.log)
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("echoed key not redacted: %v", err)
	}
	checkSentOnlyAsHeader(t, a.Requests(), keyA, "Authorization", "Bearer "+keyA)
	// anthropic-sdk-go v2 sends WithAPIKey as a bearer token.
	checkSentOnlyAsHeader(t, b.Requests(), keyB, "Authorization", "Bearer "+keyB)
}

func checkSentOnlyAsHeader(t *testing.T, reqs []llmtest.Recorded, key, header, want string) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("no requests")
	}
	for _, r := range reqs {
		if got := r.Header.Get(header); got != want {
			t.Fatalf("%s = %q, want %q", header, got, want)
		}
		for name, vs := range r.Header {
			if name != header && strings.Contains(strings.Join(vs, " "), key) {
				t.Fatalf("key in header %s", name)
			}
		}
		if strings.Contains(string(r.Body), key) || strings.Contains(r.Query, key) ||
			strings.Contains(string(r.Body), "env-LEAK") {
			t.Fatalf("key in body or query: %s?%s", r.Body, r.Query)
		}
	}
}

// Without a configured key no credential is sent at all, whatever the
// SDKs' environment variables say.
func TestNoKeyNoCredential(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "env-LEAK")
	t.Setenv("ANTHROPIC_API_KEY", "env-LEAK")
	s := llmtest.New(t)
	s.Enqueue(llmtest.Answer("a"), llmtest.Answer("b"))
	for _, p := range []llm.Provider{openaiAt(t, s, provOpt{}), anthropicAt(t, s, provOpt{})} {
		if _, err := p.Complete(context.Background(), ask("hi")); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range s.Requests() {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" {
			t.Fatalf("credential sent: %v", r.Header)
		}
	}
}

// Errors whose body is not the vendor's format (Ollama, proxies) are still
// classified by their HTTP status, read from the response itself.
func TestForeignErrorBodies(t *testing.T) {
	s := llmtest.New(t)
	s.Enqueue(
		llmtest.Reply{Status: 404, Body: `{"error":"model \"qwen9\" not found, try pulling it first"}`},
		llmtest.Reply{Status: 502, Body: `<html>Bad Gateway</html>`},
		llmtest.Reply{Status: 429, Body: `rate limited`, Header: map[string]string{"Retry-After": "7"}},
	)
	p := openaiAt(t, s, provOpt{})
	for _, want := range []struct {
		kind   llm.Kind
		status int
		wait   time.Duration
	}{{llm.KindBadRequest, 404, 0}, {llm.KindServer, 502, 0}, {llm.KindRateLimited, 429, 7 * time.Second}} {
		_, err := p.Complete(context.Background(), ask("hi"))
		var e *llm.Error
		if !errors.As(err, &e) || e.Kind != want.kind || e.Status != want.status || e.RetryAfter != want.wait {
			t.Fatalf("err = %v (%+v), want %v %d", err, e, want.kind, want.status)
		}
	}
}
