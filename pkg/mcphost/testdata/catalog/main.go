// Command catalog is the fixture of pkg/mcphost's prompt and resource
// tests: two tools, and prompts, resources and a template of each kind,
// among them dynamic ones that loop until the sandbox stops them.
package main

import (
	"context"
	"errors"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type none struct{}

func note(context.Context, none) (string, error)  { return "noted", nil }
func erase(context.Context, none) (string, error) { return "erased", nil }

// spin loops until its fuel runs out: the sandbox must stop it cleanly.
func spin() int {
	n := 0
	for i := 0; ; i++ {
		n += i % 7
		if n < 0 {
			return n
		}
	}
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{
			kiln.NewTool("note", "Takes a note", note),
			kiln.NewTool("erase", "Erases the notes", erase),
		},
		Prompts: []kiln.PromptDef{
			kiln.StaticPrompt("greet", "Greets someone", kiln.UserText("Hello {{who}}!")).
				WithArguments(kiln.PromptArgument{Name: "who", Required: true, Values: []string{"Ada", "Alan", "Grace"}}),
			kiln.Prompt("mood", "Built by the module", func(_ context.Context, args map[string]string) ([]kiln.Message, error) {
				if args["mood"] == "" {
					return nil, errors.New("say which mood")
				}
				return []kiln.Message{kiln.AssistantText("I feel " + args["mood"])}, nil
			}).WithArguments(kiln.PromptArgument{Name: "mood"}),
			kiln.Prompt("spin", "Never finishes", func(context.Context, map[string]string) ([]kiln.Message, error) {
				return []kiln.Message{kiln.UserText(string(rune('a' + spin())))}, nil
			}),
		},
		Resources: []kiln.ResourceDef{
			kiln.TextResource("notes://readme", "readme", "text/markdown", "# Notes"),
			kiln.Resource("notes://today", "today", func(context.Context, string) (kiln.ResourceContents, error) {
				return kiln.ResourceContents{MIMEType: "text/plain", Text: "nothing planned"}, nil
			}),
			kiln.Resource("notes://spin", "spin", func(context.Context, string) (kiln.ResourceContents, error) {
				return kiln.ResourceContents{Text: string(rune('a' + spin()))}, nil
			}),
		},
		ResourceTemplates: []kiln.TemplateDef{
			kiln.ResourceTemplate("notes://note/{id}", "note", func(_ context.Context, uri string, vars map[string]string) (kiln.ResourceContents, error) {
				return kiln.ResourceContents{MIMEType: "text/plain", Text: "note " + vars["id"]}, nil
			}).WithValues("id", "a1", "a2", "b1"),
		},
	})
}
