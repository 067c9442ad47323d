package sandbox

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestCallSpanOnlyWhenTraced: under a recording span the call's span is its
// child; without tracing no span is built and the context passes through
// as it was, carrying a client's propagated parent on.
func TestCallSpanOnlyWhenTraced(t *testing.T) {
	m := &Module{Hash: "h"}
	ctx := context.Background()
	if got, span := startCallSpan(ctx, m, "echo"); got != ctx || span.IsRecording() {
		t.Fatalf("without a span: a new context (%v) or a recording span", got != ctx)
	}
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2},
		TraceFlags: trace.FlagsSampled, Remote: true})
	ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
	if got, span := startCallSpan(ctx, m, "echo"); got != ctx || span.IsRecording() || !trace.SpanContextFromContext(got).Equal(remote) {
		t.Fatalf("with a propagated parent and no tracing: a new context or a recording span")
	}

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, parent := tp.Tracer("test").Start(context.Background(), "tools/call echo")
	_, span := startCallSpan(ctx, m, "echo")
	endCallSpan(span, Result{Outcome: OutcomeOK}, nil)
	parent.End()
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "sandbox.call" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v", ended)
	}
}
