package mcphost

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestCompleteWithoutRef: a completion request without a ref (which
// go-sdk lets through when MCPGODEBUG turns its checks off) is refused
// with invalid params, not a nil dereference.
func TestCompleteWithoutRef(t *testing.T) {
	for _, params := range []*mcp.CompleteParams{nil, {Argument: mcp.CompleteParamsArgument{Name: "a"}}} {
		_, err := complete(context.Background(), &mcp.CompleteRequest{Params: params})
		var rpc *jsonrpc.Error
		if !errors.As(err, &rpc) || rpc.Code != jsonrpc.CodeInvalidParams || !strings.Contains(rpc.Message, "ref") {
			t.Errorf("params %+v: %v", params, err)
		}
	}
}
