package service

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestSamplerIgnoresRemoteFlags: the share of kept traces is the
// operator's, whatever a client's traceparent says: at 0 a trace a client
// marked sampled is dropped, at 1 one it marked unsampled is kept, and a
// child inside the process follows its local parent.
func TestSamplerIgnoresRemoteFlags(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	remote := func(flags trace.TraceFlags) context.Context {
		return trace.ContextWithRemoteSpanContext(context.Background(),
			trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true}))
	}
	for _, tc := range []struct {
		ratio float64
		flags trace.TraceFlags
		want  bool
	}{
		{0, trace.FlagsSampled, false},
		{1, 0, true},
		{1, trace.FlagsSampled, true},
		{0, 0, false},
	} {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler(tc.ratio)))
		ctx, span := tp.Tracer("t").Start(remote(tc.flags), "request")
		if got := span.SpanContext().IsSampled(); got != tc.want {
			t.Errorf("ratio %v, client flags %v: sampled = %v, want %v", tc.ratio, tc.flags, got, tc.want)
		}
		_, child := tp.Tracer("t").Start(ctx, "child")
		if child.SpanContext().IsSampled() != tc.want {
			t.Errorf("ratio %v: a child does not follow its local parent", tc.ratio)
		}
	}
}
