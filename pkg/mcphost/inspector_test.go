package mcphost_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inspect runs one method of the MCP Inspector's CLI (npm
// @modelcontextprotocol/inspector, pinned in testdata/js) against url and
// decodes its JSON answer into out.
func inspect(t *testing.T, modules, url, key string, out any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"--cli", url, "--transport", "http", "--header", "Authorization: Bearer " + key}, args...)
	cmd := nodeCommand(ctx, modules, "inspector", argv...)
	// Whatever the Inspector keeps between runs stays in the test's
	// directory, not the user's.
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir(), "MCP_CATALOG_PATH="+filepath.Join(t.TempDir(), "mcp.json"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("inspector %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal([]byte(stdout.String()), out); err != nil {
		t.Fatalf("inspector %s: %v in\n%s", strings.Join(args, " "), err, stdout.String())
	}
}

// TestInspectorPromptsAndResources: the MCP Inspector's CLI lists and
// reads a module's prompts and resources on a Kiln server, static and
// dynamic, and its resource template.
func TestInspectorPromptsAndResources(t *testing.T) {
	modules := nodeModules(t)
	e, srv := catalogServer(t, bigPlan.Name)
	url := e.url(srv.ID)
	var prompts struct{ Prompts []struct{ Name string } }
	inspect(t, modules, url, srv.key, &prompts, "--method", "prompts/list")
	if len(prompts.Prompts) != 3 {
		t.Errorf("prompts/list: %+v", prompts)
	}
	type got struct {
		Messages []struct {
			Role    string
			Content struct{ Type, Text string }
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--prompt-name", "greet", "--prompt-args", "who=Grace"}, "Hello Grace!"},
		{[]string{"--prompt-name", "mood", "--prompt-args", "mood=curious"}, "I feel curious"},
	} {
		var p got
		inspect(t, modules, url, srv.key, &p, append([]string{"--method", "prompts/get"}, c.args...)...)
		if len(p.Messages) != 1 || p.Messages[0].Content.Text != c.want {
			t.Errorf("prompts/get %v: %+v, want %q", c.args, p, c.want)
		}
	}
	var resources struct{ Resources []struct{ URI string } }
	inspect(t, modules, url, srv.key, &resources, "--method", "resources/list")
	if len(resources.Resources) != 3 {
		t.Errorf("resources/list: %+v", resources)
	}
	var templates struct {
		ResourceTemplates []struct{ URITemplate string }
	}
	inspect(t, modules, url, srv.key, &templates, "--method", "resources/templates/list")
	if len(templates.ResourceTemplates) != 1 || templates.ResourceTemplates[0].URITemplate != "notes://note/{id}" {
		t.Errorf("resources/templates/list: %+v", templates)
	}
	for uri, want := range map[string]string{"notes://readme": "# Notes", "notes://today": "nothing planned", "notes://note/k7": "note k7"} {
		var r struct{ Contents []struct{ URI, Text string } }
		inspect(t, modules, url, srv.key, &r, "--method", "resources/read", "--uri", uri)
		if len(r.Contents) != 1 || r.Contents[0].Text != want {
			t.Errorf("resources/read %s: %+v, want %q", uri, r, want)
		}
	}
}
