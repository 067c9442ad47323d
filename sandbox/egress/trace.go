package egress

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// startSpan starts a client span for one request (redirects included) as a
// child of the span in ctx: the tool call's, when the call is traced. With
// no span in ctx, it is a no-op. The name is the method, as OpenTelemetry's
// HTTP conventions name client spans; anything else a tool chose is not
// in it.
func startSpan(ctx context.Context, method string) (context.Context, trace.Span) {
	m := strings.ToUpper(method)
	if m == "" {
		m = "GET"
	}
	if !allowedMethods[m] {
		m = "_OTHER"
	}
	return trace.SpanFromContext(ctx).TracerProvider().Tracer("github.com/kilnhq/kiln/sandbox/egress").
		Start(ctx, m, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("http.request.method", m)))
}

// endSpan records how the request ended. Only the host and port of the
// URL are recorded: its path and query are the tool's and may carry
// substituted secrets or a person's data.
func (c *Client) endSpan(span trace.Span, rawURL string, res *Response, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	if u, perr := url.Parse(c.redact(rawURL)); perr == nil && u.Hostname() != "" {
		span.SetAttributes(attribute.String("server.address", u.Hostname()))
		if p, perr := strconv.Atoi(u.Port()); perr == nil {
			span.SetAttributes(attribute.Int("server.port", p))
		}
	}
	if err != nil {
		span.SetAttributes(attribute.String("error.type", errorType(err)))
		span.SetStatus(codes.Error, errorType(err))
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", res.Status),
		attribute.Int("kiln.egress.redirects", res.Redirects))
	if res.Status >= 400 {
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(res.Status)))
		span.SetStatus(codes.Error, "")
	}
}

// errorType names a failed request by its kind, never its text.
func errorType(err error) string {
	var denied *DeniedError
	var limit *LimitError
	var netErr net.Error
	switch {
	case errors.As(err, &denied):
		return "denied:" + string(denied.Reason)
	case errors.As(err, &limit):
		return "limit:" + string(limit.Limit)
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	}
	return "_OTHER"
}
