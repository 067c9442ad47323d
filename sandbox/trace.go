package sandbox

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// startCallSpan starts the span of one call as a child of the span in ctx
// (the MCP request's, when it is traced). The sandbox takes no tracer of its
// own: with no span in ctx, or one from OpenTelemetry's no-op provider (a
// node without tracing that passes on a client's traceparent), the call's
// span would record nothing, and it is not built: its attributes and
// context cost allocations on every call.
func startCallSpan(ctx context.Context, m *Module, tool string) (context.Context, trace.Span) {
	tp := trace.SpanFromContext(ctx).TracerProvider()
	if tp == trace.SpanFromContext(context.Background()).TracerProvider() {
		return ctx, noop.Span{} // not the parent, whose End is not the call's to make
	}
	return tp.Tracer("github.com/kilnhq/kiln/sandbox").
		Start(ctx, "sandbox.call", trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
			attribute.String("kiln.module.hash", m.Hash), attribute.String("kiln.module.tool", tool)))
}

// endCallSpan records the call's outcome and what it used. Arguments,
// results and logs stay out of traces: they are the tool's data.
func endCallSpan(span trace.Span, res Result, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, "the call was refused")
		span.SetAttributes(attribute.String("error.type", "request"))
		return
	}
	span.SetAttributes(attribute.String("kiln.outcome", res.Outcome.String()),
		attribute.Int64("kiln.fuel.used", int64(min(res.FuelUsed, 1<<62))),
		attribute.Int64("kiln.memory.peak_bytes", int64(min(res.PeakMemory, 1<<62))))
	if res.Outcome != OutcomeOK {
		span.SetAttributes(attribute.String("error.type", res.Outcome.String()))
		span.SetStatus(codes.Error, res.Outcome.String())
	}
}
