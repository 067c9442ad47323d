package llm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/llm"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseProviders(t *testing.T) {
	keys := env(map[string]string{"KILN_LLM_KEY_1": " k1 \n", "KILN_LLM_KEY_3": "k3"})
	type want struct {
		api        llm.API
		model, url string
		key        string
	}
	for _, tc := range []struct {
		spec string
		env  func(string) string
		want []want
		err  string
	}{
		{spec: "", env: keys},
		{spec: "  ", env: keys},
		{spec: "openai:gpt-4.1", env: keys, want: []want{{llm.APIOpenAI, "gpt-4.1", llm.OpenAIBaseURL, "k1"}}},
		{
			spec: "openai:gpt-4.1, openai:qwen2.5-coder:7b@http://127.0.0.1:11434/v1 ,anthropic:claude-sonnet-4-5",
			env:  keys,
			want: []want{
				{llm.APIOpenAI, "gpt-4.1", llm.OpenAIBaseURL, "k1"},
				{llm.APIOpenAI, "qwen2.5-coder:7b", "http://127.0.0.1:11434/v1", ""},
				{llm.APIAnthropic, "claude-sonnet-4-5", llm.AnthropicBaseURL, "k3"},
			},
		},
		{spec: "openai:meta-llama/llama-3.1-8b@https://openrouter.ai/api/v1", env: keys,
			want: []want{{llm.APIOpenAI, "meta-llama/llama-3.1-8b", "https://openrouter.ai/api/v1", "k1"}}},
		{spec: "openai:m@x@http://localhost:1234/v1", env: keys,
			want: []want{{llm.APIOpenAI, "m@x", "http://localhost:1234/v1", "k1"}}},
		{spec: "gemini:pro", env: keys, err: `entry 1: unknown kind "gemini"`},
		{spec: "openai", env: keys, err: "has no ':'"},
		{spec: "openai:", env: keys, err: "empty model name"},
		{spec: "openai:@http://127.0.0.1/v1", env: keys, err: "empty model name"},
		{spec: "openai:m,", env: keys, err: "entry 2: empty entry"},
		{spec: "openai:m,,openai:n", env: keys, err: "entry 2: empty entry"},
		{spec: "openai:m@ftp://x/v1", env: keys, err: "scheme must be http or https"},
		{spec: "openai:m@127.0.0.1:11434", env: keys, err: "bad base URL"},
		{spec: "openai:m@http:///v1", env: keys, err: "no host"},
		{spec: "openai:m@https://u:p@host/v1", env: keys, err: "bad base URL"},
		{spec: "openai:m@https://host/v1?key=1", env: keys, err: "no query"},
		{spec: "openai:m@http://gpu-box:11434/v1", env: keys, err: "plain http to a non-loopback host"},
		{spec: "x:m,openai:m@http://gpu-box:11434/v1", env: keys, err: "entry 1"},
		{spec: "anthropic:claude", env: env(nil), err: "needs a key"},
	} {
		got, err := llm.ParseProviders(tc.spec, tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%q: got %v, %v", tc.spec, got, err)
			continue
		}
		for i, w := range tc.want {
			g := got[i]
			if g.API != w.api || g.Model != w.model || g.BaseURL != w.url || g.Key.Reveal() != w.key || g.Stream {
				t.Errorf("%q entry %d: got %v key %q, want %+v", tc.spec, i, g, g.Key.Reveal(), w)
			}
		}
	}
}

// No way of printing, logging or marshalling a config shows its key, even
// through fmt's reflection on an unexported field.
func TestConfigNeverPrintsKey(t *testing.T) {
	const key = "sk-live-VERY-SECRET"
	cfgs, err := llm.ParseProviders("openai:gpt-4.1", env(map[string]string{"KILN_LLM_KEY_1": key}))
	if err != nil {
		t.Fatal(err)
	}
	c := cfgs[0]
	nested := struct {
		hidden llm.ProviderConfig
		key    llm.Secret
	}{c, c.Key}
	var out bytes.Buffer
	for _, v := range []any{c, &c, c.Key, cfgs, nested, &nested} {
		fmt.Fprintf(&out, "%v %+v %#v %s %q|", v, v, v, v, v)
	}
	js, _ := json.Marshal(c)
	out.Write(js)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("cfg", "c", c, "k", c.Key, "all", cfgs)
	slog.New(slog.NewTextHandler(&out, nil)).Info("cfg", "c", c, "k", c.Key)
	if strings.Contains(out.String(), key) || strings.Contains(out.String(), "VERY-SECRET") {
		t.Fatalf("key printed: %s", out.String())
	}
	if !strings.Contains(out.String(), "openai:gpt-4.1@https://api.openai.com/v1 (key set)") {
		t.Fatalf("config not described: %s", out.String())
	}
	if c.Key.Reveal() != key {
		t.Fatal("Reveal lost the key")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []llm.ProviderConfig{
		{API: "x", Model: "m", BaseURL: "http://127.0.0.1"},
		{API: llm.APIOpenAI, BaseURL: "http://127.0.0.1"},
		{API: llm.APIOpenAI, Model: "m", BaseURL: "http://remote.example/v1", Key: llm.NewSecret("k")},
		{API: llm.APIOpenAI, Model: "m"},
	} {
		if _, err := llm.New([]llm.ProviderConfig{c}, llm.Options{}); err == nil {
			t.Errorf("%v: accepted", c)
		}
	}
}
