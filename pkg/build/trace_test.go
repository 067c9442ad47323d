package build_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kilnhq/kiln/pkg/build"
)

// TestBuildSpans checks that a traced build shows where its time went: a
// compiled build has a compile span under its build span, a cached one has
// none, and a refused source says why without quoting it.
func TestBuildSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")

	p := newPool(t, 1, &instrumented{})
	for range 2 {
		if _, err := p.Build(ctx, "acme", build.DefaultPolicy(), tool("traced")); err != nil {
			t.Fatal(err)
		}
	}
	bad := strings.Replace(goodTool, `"context"`, "\"context\"\n\t\"os\"", 1)
	if _, err := p.Build(ctx, "acme", build.DefaultPolicy(), map[string][]byte{"main.go": []byte(bad)}); err == nil {
		t.Fatal("a refused import was built")
	}
	parent.End()

	var builds []sdktrace.ReadOnlySpan
	var compiles int
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "kiln.build":
			if s.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("build span's parent is %v, want the request's", s.Parent().SpanID())
			}
			builds = append(builds, s)
		case "kiln.build.compile":
			compiles++
		}
	}
	if len(builds) != 3 || compiles != 1 {
		t.Fatalf("%d build spans and %d compile spans, want 3 and 1", len(builds), compiles)
	}
	want := []attribute.KeyValue{
		attribute.String("kiln.build.answer", "compiled"),
		attribute.String("kiln.build.answer", "cached"),
		attribute.String("error.type", "invalid"),
	}
	for i, s := range builds {
		if !hasAttribute(s, want[i]) {
			t.Errorf("build span %d has %v, want %v", i, s.Attributes(), want[i])
		}
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), "package main") {
				t.Errorf("span %d quotes the source: %v", i, kv)
			}
		}
	}
}

func hasAttribute(s sdktrace.ReadOnlySpan, want attribute.KeyValue) bool {
	for _, kv := range s.Attributes() {
		if kv == want {
			return true
		}
	}
	return false
}
