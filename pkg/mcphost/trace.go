package mcphost

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the spans this package starts.
const tracerName = "github.com/kilnhq/kiln/pkg/mcphost"

// The OpenTelemetry MCP semantic conventions' attribute names. (The Go
// semconv package does not define them yet.)
const (
	attrMethod    = attribute.Key("mcp.method.name")
	attrTool      = attribute.Key("gen_ai.tool.name")
	attrOperation = attribute.Key("gen_ai.operation.name")
	attrRequestID = attribute.Key("jsonrpc.request.id")
	attrErrorType = attribute.Key("error.type")
	attrServer    = attribute.Key("kiln.server.id")
)

// rpcIDKey carries the JSON-RPC id of the request being served, which the
// SDK's middleware does not see, from serveMCP's peek to the span.
type rpcIDKey struct{}

func withRPCID(ctx context.Context, id json.RawMessage) context.Context {
	if len(id) == 0 {
		return ctx
	}
	return context.WithValue(ctx, rpcIDKey{}, string(id))
}

// traceOperations is the SDK middleware that makes one span per MCP
// message, as the semantic conventions name it: "tools/call {tool}",
// "tools/list", ... Its parent is the trace context the client put in
// params._meta (traceparent, tracestate) when it sent one, else the HTTP
// request's span; the sandbox call, egress requests and anything else the
// handler does become its children. With tracing off the HTTP span is a
// no-op, and so is every span started from it.
func (h *Host) traceOperations(d *deployment) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			tp := trace.SpanFromContext(ctx).TracerProvider()
			if tracingOff(tp) {
				// Its span would record nothing: only the client's parent,
				// which the no-op span would carry on, goes to the handler.
				ctx, _ = parentFromMeta(ctx, req)
				return next(ctx, method, req)
			}
			tracer := tp.Tracer(tracerName)
			op := Operation{Method: "other"}
			if mcpMethods[method] {
				op.Method = method
			}
			name, attrs := op.Method, []attribute.KeyValue{attrMethod.String(op.Method), attrServer.String(d.srv.ID)}
			if call, ok := req.(*mcp.CallToolRequest); ok {
				// A deployed tool's name, or "unknown": what a client
				// sends is not copied into span names.
				tool := "unknown"
				if call.Params != nil && d.tools[call.Params.Name] != nil {
					tool = call.Params.Name
				}
				name += " " + tool
				attrs = append(attrs, attrTool.String(tool), attrOperation.String("execute_tool"))
			}
			if id, ok := ctx.Value(rpcIDKey{}).(string); ok && len(id) <= 128 {
				attrs = append(attrs, attrRequestID.String(id))
			}
			ctx, opts := parentFromMeta(ctx, req)
			ctx, span := tracer.Start(ctx, name, append(opts,
				trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))...)
			defer span.End()
			res, err := next(ctx, method, req)
			if et := errorType(res, err); et != "" {
				span.SetAttributes(attrErrorType.String(et))
				span.SetStatus(codes.Error, et)
			}
			return res, err
		}
	}
}

// tracingOff reports whether tp is OpenTelemetry's no-op provider, which
// a context without a recording span gives (Kiln without tracing starts no
// HTTP span): then the span of each message, its name and attributes would
// be built for nothing, on every call.
func tracingOff(tp trace.TracerProvider) bool {
	return tp == trace.SpanFromContext(context.Background()).TracerProvider()
}

// maxTraceHeader bounds the traceparent and tracestate a client's _meta
// may hand on; longer ones are ignored.
const maxTraceHeader = 512

// parentFromMeta continues the trace a client put in the request's
// params._meta (the MCP semantic conventions' propagation), linking the
// HTTP request's span; without one the HTTP span stays the parent. The
// tracer was taken from the HTTP span already, so a remote parent does not
// turn tracing off.
func parentFromMeta(ctx context.Context, req mcp.Request) (context.Context, []trace.SpanStartOption) {
	params := req.GetParams()
	// A request without params holds a typed nil pointer.
	if params == nil || reflect.ValueOf(params).IsNil() {
		return ctx, nil
	}
	meta := params.GetMeta()
	parent, ok := meta["traceparent"].(string)
	if !ok || parent == "" || len(parent) > maxTraceHeader {
		return ctx, nil
	}
	carrier := propagation.MapCarrier{"traceparent": parent}
	if v, ok := meta["tracestate"].(string); ok && len(v) <= maxTraceHeader {
		carrier["tracestate"] = v
	}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	if !sc.IsValid() {
		return ctx, nil // a malformed traceparent is ignored, as W3C Trace Context says
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc), []trace.SpanStartOption{trace.WithLinks(trace.LinkFromContext(ctx))}
}
