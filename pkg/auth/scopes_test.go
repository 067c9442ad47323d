package auth_test

import (
	"slices"
	"testing"

	"github.com/kilnhq/kiln/pkg/auth"
)

func TestToolScopes(t *testing.T) {
	for _, tc := range []struct {
		scopes []string
		tools  []string
		ok     bool
	}{
		{[]string{"mcp"}, nil, true},
		{[]string{"mcp:tool:echo", "mcp"}, nil, true}, // mcp wins: every tool
		{[]string{"offline_access", "mcp:tool:echo", "mcp:tool:a.b-c_1"}, []string{"echo", "a.b-c_1"}, true},
		{[]string{"offline_access"}, nil, false},
		{[]string{"mcp:tool:"}, nil, false},
		{[]string{"mcp:tool:has space", "mcp:tool:x/y", "MCP"}, nil, false},
		{nil, nil, false},
	} {
		tools, ok := auth.ToolScopes(tc.scopes)
		if ok != tc.ok || !slices.Equal(tools, tc.tools) {
			t.Errorf("ToolScopes(%q) = %q, %v; want %q, %v", tc.scopes, tools, ok, tc.tools, tc.ok)
		}
	}
}
