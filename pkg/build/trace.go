package build

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Span names of a build, for operators reading traces.
const (
	spanBuild   = "kiln.build"         // one caller's Build, from validation to its answer
	spanCompile = "kiln.build.compile" // the go build itself, inside a worker slot
)

// startSpan starts a span under the one in ctx (the HTTP request's or the
// wizard round's). Like the sandbox and the LLM client, the pool takes no
// tracer of its own: untraced, the span is a no-op.
func startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer("github.com/kilnhq/kiln/pkg/build").
		Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
}

// endSpan ends span with how the build went: the outcome as BuildOutcome
// names it, never the compiler's output (it quotes the customer's source).
func endSpan(span trace.Span, err error) {
	defer span.End()
	if err == nil || !span.IsRecording() {
		return
	}
	kind := BuildOutcome(err)
	var ve *ValidationError
	if errors.As(err, &ve) {
		kind = "invalid"
	}
	span.SetAttributes(attribute.String("error.type", kind))
	span.SetStatus(codes.Error, kind)
}
