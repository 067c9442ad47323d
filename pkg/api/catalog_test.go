package api_test

import (
	"strings"
	"testing"
)

// catalogTool is a tool module declaring a prompt and a resource beside
// its tool.
func catalogTool(tool, prompt, uri string) string {
	return `package main

import (
	"context"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct{}

func run(context.Context, in) (string, error) { return "ok", nil }

func main() {
	kiln.Run(kiln.Module{
		Tools:     []kiln.Tool{kiln.NewTool("` + tool + `", "A tool", run)},
		Prompts:   []kiln.PromptDef{kiln.StaticPrompt("` + prompt + `", "A prompt", kiln.UserText("hello"))},
		Resources: []kiln.ResourceDef{kiln.TextResource("` + uri + `", "res", "text/plain", "text")},
	})
}
`
}

// TestPromptAndResourceClashRefused: a server's prompts and resources are
// the union of its modules'. A tool whose module declares a prompt name or
// a resource URI another module of the server declares is refused with a
// 409 naming both, and nothing of it is stored; one without a clash is
// deployed. Run on SQLite and PostgreSQL, in the deploy's transaction.
func TestPromptAndResourceClashRefused(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer("pro")
		srv := h.server(key, "catalog")
		path := "/api/v1/servers/" + srv.ID + "/tools"
		h.do("POST", path, key, map[string]any{"files": map[string]string{"main.go": catalogTool("first", "greet", "notes://a")}}).want(t, 201)

		for _, c := range []struct{ prompt, uri, want string }{
			{"greet", "notes://b", `prompt "greet" is declared by both the module of tool "first" and the module of tool "second"`},
			{"other", "notes://a", `resource "notes://a" is declared by both`},
		} {
			res := h.do("POST", path, key, map[string]any{"files": map[string]string{"main.go": catalogTool("second", c.prompt, c.uri)}}).want(t, 409)
			if msg := res.errorMessage(t); !strings.Contains(msg, c.want) {
				t.Errorf("409 says %q, want %q", msg, c.want)
			}
		}
		var list struct{ Items []struct{ Name string } }
		h.do("GET", path, key, nil).want(t, 200).decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].Name != "first" {
			t.Fatalf("a refused tool was stored: %+v", list.Items)
		}
		h.do("POST", path, key, map[string]any{"files": map[string]string{"main.go": catalogTool("second", "other", "notes://b")}}).want(t, 201)
	})
}
