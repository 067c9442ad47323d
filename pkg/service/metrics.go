package service

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/store"
)

// Metrics are one node's Prometheus metrics, in a registry of their own
// (never the global default, so two nodes in one test process do not
// share counters). The parts below pkg/service do not import Prometheus:
// they report through small hooks (mcphost.Observer, llm.Options.Record,
// the rate limiter) or expose statistics read at scrape time (the store's
// pool, the engine's warm pools, the build pool).
//
// Labels are bounded: server ids and deployed tool names, MCP method names,
// outcomes from fixed sets, LLM providers and models from the
// configuration. Never arguments, results, keys or customer data.
type Metrics struct {
	Registry *prometheus.Registry

	mcpRequests *prometheus.CounterVec   // server, method, outcome
	operation   *prometheus.HistogramVec // the semconv histogram
	toolCalls   *prometheus.CounterVec   // server, tool, outcome
	callFuel    *prometheus.HistogramVec // server, tool
	callMemory  *prometheus.HistogramVec
	callSeconds *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec // scope
	llmCalls    *prometheus.CounterVec // provider, model, outcome
	llmSeconds  *prometheus.HistogramVec
	llmTokens   *prometheus.CounterVec   // provider, model, direction
	llmFallback *prometheus.CounterVec   // provider, model: attempts after the first
	builds      *prometheus.CounterVec   // outcome
	buildTime   *prometheus.HistogramVec // outcome
}

// mcpDurationBuckets are the boundaries the OpenTelemetry MCP semantic
// conventions give for mcp.server.operation.duration, in seconds.
var mcpDurationBuckets = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}

func newMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.Registry.MustRegister(c)
		return c
	}
	hist := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
		m.Registry.MustRegister(h)
		return h
	}
	m.mcpRequests = counter("kiln_mcp_requests_total", "MCP requests and notifications handled, by server, method and outcome (ok or the error type).", "server", "method", "outcome")
	m.operation = hist("mcp_server_operation_duration_seconds", "MCP request or notification duration as observed on the server (OpenTelemetry mcp.server.operation.duration).",
		mcpDurationBuckets, "mcp_method_name", "gen_ai_tool_name", "error_type")
	m.toolCalls = counter("kiln_tool_calls_total", "Tool calls run in the sandbox, by server, tool and outcome.", "server", "tool", "outcome")
	m.callFuel = hist("kiln_tool_call_fuel", "Fuel (WebAssembly instructions metered) one tool call used.", prometheus.ExponentialBuckets(1e4, 10, 8), "server", "tool")
	m.callMemory = hist("kiln_tool_call_peak_memory_bytes", "Peak linear memory of one tool call.", prometheus.ExponentialBuckets(64<<10, 4, 8), "server", "tool")
	m.callSeconds = hist("kiln_tool_call_duration_seconds", "Duration of one tool call in the sandbox.", mcpDurationBuckets, "server", "tool")
	m.rateLimited = counter("kiln_rate_limit_refusals_total", "Events refused by a rate limit, by the limit's scope.", "scope")
	m.llmCalls = counter("kiln_llm_requests_total", "LLM HTTP attempts, by provider, model and outcome (ok or the error kind).", "provider", "model", "outcome")
	m.llmSeconds = hist("kiln_llm_request_duration_seconds", "Latency of one LLM HTTP attempt.", mcpDurationBuckets, "provider", "model")
	m.llmTokens = counter("kiln_llm_tokens_total", "Tokens the LLM providers reported, by direction (input or output).", "provider", "model", "direction")
	m.llmFallback = counter("kiln_llm_retries_total", "LLM attempts after the first of one completion (retries and fallbacks to the next provider), by the provider tried.", "provider", "model")
	m.builds = counter("kiln_builds_total", "Tool builds compiled (not those answered from the cache), by outcome.", "outcome")
	m.buildTime = hist("kiln_build_duration_seconds", "Duration of one tool build's compile.", []float64{1, 2, 5, 10, 20, 30, 60, 120, 300}, "outcome")
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Operation implements mcphost.Observer.
func (m *Metrics) Operation(op mcphost.Operation) {
	outcome := op.ErrorType
	if outcome == "" {
		outcome = "ok"
	}
	m.mcpRequests.WithLabelValues(op.ServerID, op.Method, outcome).Inc()
	m.operation.WithLabelValues(op.Method, op.Tool, op.ErrorType).Observe(op.Duration.Seconds())
}

// Execution implements mcphost.Observer: the call's figures, never its
// arguments or result.
func (m *Metrics) Execution(e *store.Execution) {
	m.toolCalls.WithLabelValues(e.ServerID, e.ToolName, e.Outcome).Inc()
	m.callFuel.WithLabelValues(e.ServerID, e.ToolName).Observe(float64(e.FuelUsed))
	m.callMemory.WithLabelValues(e.ServerID, e.ToolName).Observe(float64(e.MemoryPeak))
	m.callSeconds.WithLabelValues(e.ServerID, e.ToolName).Observe(e.Duration.Seconds())
}

// LLMRecord counts one LLM attempt (llm.Options.Record).
func (m *Metrics) LLMRecord(r llm.Record) {
	m.llmCalls.WithLabelValues(r.Provider, r.Model, r.Outcome).Inc()
	m.llmSeconds.WithLabelValues(r.Provider, r.Model).Observe(r.Latency.Seconds())
	m.llmTokens.WithLabelValues(r.Provider, r.Model, "input").Add(float64(r.Usage.InputTokens))
	m.llmTokens.WithLabelValues(r.Provider, r.Model, "output").Add(float64(r.Usage.OutputTokens))
	if r.Attempt > 1 {
		m.llmFallback.WithLabelValues(r.Provider, r.Model).Inc()
	}
}

// RateLimited counts a refusal under key. Keys are Kiln's own ("ip:…",
// "customer:…"): only the part before the first colon, the scope, is a
// label, never the address or id after it.
func (m *Metrics) RateLimited(key string) {
	scope, _, _ := strings.Cut(key, ":")
	m.rateLimited.WithLabelValues(scope).Inc()
}

// Build counts one compile (build.PoolConfig.OnBuild).
func (m *Metrics) Build(d time.Duration, outcome string) {
	m.builds.WithLabelValues(outcome).Inc()
	m.buildTime.WithLabelValues(outcome).Observe(d.Seconds())
}

// registerBuilds adds the build pool's load, read at scrape time.
func (m *Metrics) registerBuilds(p *build.Pool) {
	m.gaugeFunc("kiln_build_queue_depth", "Tool builds waiting for a build worker.", func() float64 { return float64(p.Stats().Waiting) })
	m.gaugeFunc("kiln_builds_running", "Tool builds holding a build worker.", func() float64 { return float64(p.Stats().Running) })
}

// gaugeFunc and counterFunc register values read at scrape time.
func (m *Metrics) gaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

func (m *Metrics) counterFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// seconds converts a duration for a metric.
func seconds(d time.Duration) float64 { return d.Seconds() }
