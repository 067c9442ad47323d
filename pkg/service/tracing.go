package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kilnhq/kiln/pkg/config"
)

// newTracing returns the node's tracer provider and what flushes it at
// shutdown. Without an endpoint it is OpenTelemetry's no-op provider:
// spans cost a context lookup and nothing is exported, so tracing is off
// unless an operator turns it on.
//
// The provider is the only one in the process and is passed down, never
// installed as otel's global: packages start their spans from the span in
// their context (trace.SpanFromContext(ctx).TracerProvider()), so work
// started by a traced request joins its trace and other work makes none.
func newTracing(ctx context.Context, o config.Observe) (trace.TracerProvider, func(context.Context) error, error) {
	if o.TraceEndpoint == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(tracesURL(o.TraceEndpoint)))
	if err != nil {
		return nil, nil, fmt.Errorf("service: the OTLP trace exporter: %w", err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("kiln"), semconv.ServiceVersion(buildVersion()))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler(o.TraceSample)),
	)
	return tp, tp.Shutdown, nil
}

// sampler keeps o.TraceSample of traces, deciding by trace ID, so that a
// trace that crosses services sampling at the same rate is kept or dropped
// whole. A remote caller's "sampled" flag is not obeyed: any client can set
// it in traceparent, and obeying it would let one client make every
// request exported. Spans inside this process follow their parent.
func sampler(ratio float64) sdktrace.Sampler {
	byID := sdktrace.TraceIDRatioBased(ratio)
	return sdktrace.ParentBased(byID,
		sdktrace.WithRemoteParentSampled(byID), sdktrace.WithRemoteParentNotSampled(byID))
}

// buildVersion is the kiln module's version as the go command recorded it
// ("(devel)" for a build from a checkout).
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		return info.Main.Version
	}
	return "unknown"
}

// tracesURL is where OTLP/HTTP traces go: a collector's base URL gets the
// standard /v1/traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does; a URL
// with a path of its own is used as it is.
func tracesURL(endpoint string) string {
	u, err := url.Parse(endpoint) // validated by config
	if err != nil || strings.Trim(u.Path, "/") != "" {
		return endpoint
	}
	u.Path = "/v1/traces"
	return u.String()
}

// traceRequests starts a server span for every HTTP request, continuing a
// trace the caller sent in the W3C traceparent header. MCP requests get
// their own span inside it (pkg/mcphost), named after the MCP method.
func traceRequests(tp trace.TracerProvider, next http.Handler) http.Handler {
	if _, off := tp.(noop.TracerProvider); off {
		return next
	}
	tracer := tp.Tracer("github.com/kilnhq/kiln/pkg/service")
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		// The route, not the path: paths hold server IDs, and span names
		// must not grow with every server.
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLScheme(scheme(r))))
		defer span.End()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(ctx)
		next.ServeHTTP(rec, r)
		if r.Pattern != "" { // set by the mux on the request it was given
			span.SetName(r.Method + " " + r.Pattern)
			span.SetAttributes(semconv.HTTPRoute(r.Pattern))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(rec.status))
		if rec.status >= 500 {
			span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprint(rec.status)))
		}
	})
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// statusRecorder remembers the status a handler wrote. It passes Flush on,
// which MCP's streamed responses need.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
