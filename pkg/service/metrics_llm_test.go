package service

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kilnhq/kiln/pkg/llm"
)

// TestMetricsLLMRecord: the LLM usage hook counts attempts by provider,
// model and outcome, tokens by direction, latency, and the attempts after
// the first (retries and fallbacks) of a completion.
func TestMetricsLLMRecord(t *testing.T) {
	m := newMetrics()
	m.LLMRecord(llm.Record{Provider: "anthropic", Model: "claude", Attempt: 1, Outcome: "rate_limited", Latency: time.Second})
	m.LLMRecord(llm.Record{Provider: "openai", Model: "qwen", Attempt: 2, Outcome: "ok", Latency: 2 * time.Second,
		Usage: llm.Usage{InputTokens: 100, OutputTokens: 40}})
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{value(t, m.llmCalls.WithLabelValues("anthropic", "claude", "rate_limited")), 1, "refused attempt"},
		{value(t, m.llmCalls.WithLabelValues("openai", "qwen", "ok")), 1, "answered attempt"},
		{value(t, m.llmTokens.WithLabelValues("openai", "qwen", "input")), 100, "input tokens"},
		{value(t, m.llmTokens.WithLabelValues("openai", "qwen", "output")), 40, "output tokens"},
		{value(t, m.llmFallback.WithLabelValues("openai", "qwen")), 1, "fallbacks to qwen"},
		{value(t, m.llmSeconds.WithLabelValues("openai", "qwen").(prometheus.Metric)), 1, "latencies observed"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// value reads a counter's value or a histogram's count.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Histogram != nil {
		return float64(d.Histogram.GetSampleCount())
	}
	return d.GetCounter().GetValue()
}
