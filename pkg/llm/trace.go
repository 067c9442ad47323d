package llm

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// startSpan starts the span of one HTTP attempt as the OpenTelemetry GenAI
// conventions name it ("chat {model}"), as a child of the span in ctx; with
// none (an untraced request, or tracing off) it is a no-op. Prompts and
// answers stay out of it: they are a person's words.
func startSpan(ctx context.Context, p Provider) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer("github.com/kilnhq/kiln/pkg/llm").
		Start(ctx, "chat "+p.Model(), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", p.Name()),
			attribute.String("gen_ai.request.model", p.Model())))
}

// endSpan records the attempt's token usage or how it failed.
func endSpan(span trace.Span, p Provider, resp Response, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	if err != nil {
		kind := asError(p, err).Kind.String()
		span.SetAttributes(attribute.String("error.type", kind))
		span.SetStatus(codes.Error, kind)
		return
	}
	span.SetAttributes(attribute.Int("gen_ai.usage.input_tokens", resp.Usage.InputTokens),
		attribute.Int("gen_ai.usage.output_tokens", resp.Usage.OutputTokens))
}
