package mcphost

import (
	"context"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/pkg/store"
)

// TestTraceOperationsWithAndWithoutTracing: with a recording HTTP span,
// each message gets its span, a child of the client's traceparent; without
// tracing none is made, and the client's parent still reaches the handler,
// as the no-op span would have carried it.
func TestTraceOperationsWithAndWithoutTracing(t *testing.T) {
	const traceID = "4bf92f3577b34a736e4736e7e9aa1c6e"
	d := &deployment{srv: store.Server{ID: "srv_abc"}, tools: map[string]*tool{"echo": {name: "echo"}}}
	var seen trace.SpanContext
	mw := (&Host{}).traceOperations(d)(func(ctx context.Context, _ string, _ mcp.Request) (mcp.Result, error) {
		seen = trace.SpanContextFromContext(ctx)
		return &mcp.CallToolResult{}, nil
	})
	call := func(ctx context.Context, meta mcp.Meta) {
		t.Helper()
		if _, err := mw(ctx, "tools/call", &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "echo", Meta: meta}}); err != nil {
			t.Fatal(err)
		}
	}
	parent := mcp.Meta{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"}

	if !tracingOff(trace.SpanFromContext(context.Background()).TracerProvider()) {
		t.Fatal("a context without a span does not count as tracing off")
	}
	call(context.Background(), parent)
	if seen.TraceID().String() != traceID || !seen.IsRemote() {
		t.Fatalf("without tracing the handler saw %v, not the client's parent", seen)
	}
	call(context.Background(), nil)
	if seen.IsValid() {
		t.Fatalf("without tracing or a parent the handler saw %v", seen)
	}

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	if tracingOff(tp) {
		t.Fatal("a recording provider counts as tracing off")
	}
	ctx, httpSpan := tp.Tracer("test").Start(context.Background(), "POST")
	call(ctx, parent)
	httpSpan.End()
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "tools/call echo" {
		t.Fatalf("spans %v", ended)
	}
	if got := ended[0].Parent().TraceID().String(); got != traceID || seen.SpanID() != ended[0].SpanContext().SpanID() {
		t.Fatalf("the message's span has parent trace %s; the handler saw %v", got, seen)
	}
}
