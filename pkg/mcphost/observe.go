package mcphost

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store"
)

// Observer is told what the host did, for metrics: pkg/service counts it
// with Prometheus, so this package imports no metrics library. Its methods
// run on the request path and must be cheap and safe for concurrent use.
// Nothing a client sent reaches it unchecked: methods are MCP's own
// (else "other") and tools are deployed ones (else "unknown"), so a client
// cannot make new series.
type Observer interface {
	// Operation is one MCP request or notification a server handled.
	Operation(Operation)
	// Execution is a tool call's execution log row as it is recorded. Its
	// Arguments and Result are the call's payloads: never labels.
	Execution(*store.Execution)
}

// Operation is one handled MCP message, named as the OpenTelemetry MCP
// semantic conventions name its attributes.
type Operation struct {
	ServerID string
	Method   string // mcp.method.name: an MCP method, or "other"
	Tool     string // gen_ai.tool.name for tools/call: a deployed tool or "unknown"
	// ErrorType is error.type: "" on success, "tool_error" for a result
	// with isError, the JSON-RPC error code, or "_OTHER".
	ErrorType string
	Duration  time.Duration
}

// mcpMethods are the methods Operation names as they are.
var mcpMethods = map[string]bool{
	"initialize": true, "ping": true, "tools/list": true, "tools/call": true,
	"resources/list": true, "resources/read": true, "resources/templates/list": true,
	"prompts/list": true, "prompts/get": true, "logging/setLevel": true, "completion/complete": true,
	"notifications/initialized": true, "notifications/cancelled": true, "notifications/progress": true,
	"notifications/roots/list_changed": true,
}

// observeOperations is the SDK middleware that reports each message of
// d's server to the Observer.
func (h *Host) observeOperations(d *deployment, o Observer) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			start := time.Now()
			res, err := next(ctx, method, req)
			op := Operation{ServerID: d.srv.ID, Method: "other", Duration: time.Since(start), ErrorType: errorType(res, err)}
			if mcpMethods[method] {
				op.Method = method
			}
			if call, ok := req.(*mcp.CallToolRequest); ok {
				op.Tool = "unknown"
				if call.Params != nil && d.tools[call.Params.Name] != nil {
					op.Tool = call.Params.Name
				}
			}
			o.Operation(op)
			return res, err
		}
	}
}

func errorType(res mcp.Result, err error) string {
	var rpcErr *jsonrpc.Error
	switch {
	case errors.As(err, &rpcErr):
		return strconv.FormatInt(rpcErr.Code, 10)
	case err != nil:
		return "_OTHER"
	}
	if r, ok := res.(*mcp.CallToolResult); ok && r != nil && r.IsError {
		return "tool_error"
	}
	return ""
}
