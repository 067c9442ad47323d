package mcphost

import (
	"context"
	"fmt"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// limitTools is the SDK middleware of per-tool authorization: a caller
// limited to some tools (request.tools) sees only those in tools/list, and
// a tools/call of any other is answered as the SDK answers a tool that does
// not exist, so a limited key cannot learn which other tools a server has.
// The prompt and resource lists keep what the caller may reach (the rule
// is in catalog.go, whose handlers refuse the rest as unknown).
func limitTools(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		r, ok := requestFrom(ctx)
		if !ok || len(r.tools) == 0 {
			return next(ctx, method, req)
		}
		switch req := req.(type) {
		case *mcp.CallToolRequest:
			if req.Params == nil || !r.allows(req.Params.Name) {
				name := ""
				if req.Params != nil {
					name = req.Params.Name
				}
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", name)}
			}
		case *mcp.ListToolsRequest:
			res, err := next(ctx, method, req)
			if list, ok := res.(*mcp.ListToolsResult); ok && err == nil {
				kept := list.Tools[:0:0]
				for _, t := range list.Tools {
					if r.allows(t.Name) {
						kept = append(kept, t)
					}
				}
				list.Tools = kept
			}
			return res, err
		case *mcp.ListPromptsRequest, *mcp.ListResourcesRequest, *mcp.ListResourceTemplatesRequest:
			res, err := next(ctx, method, req)
			if err == nil {
				filterCatalog(r, res)
			}
			return res, err
		}
		return next(ctx, method, req)
	}
}

// allows reports whether the caller may list and call the tool.
func (r *request) allows(tool string) bool {
	return len(r.tools) == 0 || slices.Contains(r.tools, tool)
}
