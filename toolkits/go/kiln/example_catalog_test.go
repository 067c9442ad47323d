package kiln_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// A static prompt: the host fills the {{placeholders}} with the client's
// arguments without starting the module. Values are offered to clients by
// completion.
func ExampleStaticPrompt() {
	p := kiln.StaticPrompt("review_code", "Asks for a code review",
		kiln.UserText("Review this {{language}} code for bugs:\n\n{{code}}"),
	).WithTitle("Code review").WithArguments(
		kiln.PromptArgument{Name: "language", Values: []string{"go", "python", "rust"}},
		kiln.PromptArgument{Name: "code", Required: true},
	)
	fmt.Println(p.Name())
	// In main: kiln.Run(kiln.Module{Tools: tools, Prompts: []kiln.PromptDef{p}})
	// Output: review_code
}

// A dynamic prompt: the module builds the messages in the sandbox when a
// client asks for the prompt; an error reaches the client as a JSON-RPC
// error.
func ExamplePrompt() {
	p := kiln.Prompt("summarize", "Asks for a summary in a given number of words",
		func(ctx context.Context, args map[string]string) ([]kiln.Message, error) {
			words := args["words"]
			if words == "" {
				return nil, errors.New("say how many words")
			}
			return []kiln.Message{kiln.UserText("Summarize the conversation in " + words + " words.")}, nil
		}).WithArguments(kiln.PromptArgument{Name: "words", Required: true, Values: []string{"50", "100"}})
	fmt.Println(p.Name())
	// Output: summarize
}

// Resources: a static text and a dynamic one the module reads when asked.
func ExampleResource() {
	readme := kiln.TextResource("notes://readme", "readme", "text/markdown", "# Notes\n")
	today := kiln.Resource("notes://today", "today",
		func(ctx context.Context, uri string) (kiln.ResourceContents, error) {
			return kiln.ResourceContents{MIMEType: "text/plain", Text: "nothing planned"}, nil
		})
	fmt.Println(readme.URI(), today.URI())
	// Output: notes://readme notes://today
}

// A resource template: every URI that matches it is read by the handler,
// which gets the template's variables.
func ExampleResourceTemplate() {
	t := kiln.ResourceTemplate("notes://{id}", "note",
		func(ctx context.Context, uri string, vars map[string]string) (kiln.ResourceContents, error) {
			return kiln.ResourceContents{MIMEType: "text/plain", Text: "note " + strings.ToUpper(vars["id"])}, nil
		}).WithMIMEType("text/plain").WithValues("id", "a1", "b2")
	fmt.Println(t.URITemplate())
	// Output: notes://{id}
}
