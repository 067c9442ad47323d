package main

// The prompts and resources of the conformance scenarios (prompts-*,
// resources-*, completion-complete), as go-sdk's everything-server declares
// them: static ones the host serves from the manifest, dynamic ones served
// by this module in the sandbox.

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

func conformancePrompts() []kiln.PromptDef {
	return []kiln.PromptDef{
		kiln.StaticPrompt("test_simple_prompt", "A simple prompt without arguments",
			kiln.UserText("This is a simple prompt for testing.")).WithTitle("Simple Test Prompt"),
		kiln.StaticPrompt("test_prompt_with_arguments", "A prompt with required arguments",
			kiln.UserText("Prompt with arguments: arg1='{{arg1}}', arg2='{{arg2}}'")).
			WithTitle("Prompt With Arguments").
			WithArguments(
				kiln.PromptArgument{Name: "arg1", Description: "First test argument", Required: true, Values: []string{"test", "testValue1", "other"}},
				kiln.PromptArgument{Name: "arg2", Description: "Second test argument", Required: true},
			),
		kiln.Prompt("test_prompt_with_embedded_resource", "A prompt that includes an embedded resource", embeddedResourcePrompt).
			WithTitle("Prompt With Embedded Resource").
			WithArguments(kiln.PromptArgument{Name: "resourceUri", Description: "URI of the resource to embed", Required: true}),
		kiln.StaticPrompt("test_prompt_with_image", "A prompt that includes image content",
			kiln.Message{Role: "user", Content: kiln.MessageContent{Type: "image", Data: pngBase64, MIMEType: "image/png"}},
			kiln.UserText("Please analyze the image above.")).WithTitle("Prompt With Image"),
		kiln.Prompt("test_input_required_result_prompt", "A prompt that asks the user for its context (SEP-2322)", contextPrompt),
	}
}

// embeddedResourcePrompt embeds the resource the client names: a prompt
// whose messages depend on its arguments beyond text, so the module builds
// it.
func embeddedResourcePrompt(_ context.Context, args map[string]string) ([]kiln.Message, error) {
	return []kiln.Message{
		{Role: "user", Content: kiln.MessageContent{Type: "resource", Resource: &kiln.ResourceContents{
			URI: args["resourceUri"], MIMEType: "text/plain", Text: "Embedded resource content for testing.",
		}}},
		kiln.UserText("Please process the embedded resource above."),
	}, nil
}

func conformanceResources() []kiln.ResourceDef {
	png, _ := base64.StdEncoding.DecodeString(pngBase64)
	return []kiln.ResourceDef{
		kiln.TextResource("test://static-text", "static-text", "text/plain", "This is the content of the static text resource.").
			WithDescription("", "A static text resource for testing"),
		kiln.BlobResource("test://static-binary", "static-binary", "image/png", png).
			WithDescription("", "A static binary resource (image) for testing"),
		kiln.TextResource("test://watched-resource", "watched-resource", "text/plain", "Watched resource content").
			WithDescription("", "A resource the conformance suite subscribes to (Kiln refuses subscriptions: it is stateless)"),
		kiln.Resource("test://asks-context", "asks-context", contextResource).
			WithDescription("", "A dynamic resource that asks the user for its context (SEP-2322; pkg/mcphost tests)"),
	}
}

func conformanceTemplates() []kiln.TemplateDef {
	return []kiln.TemplateDef{
		kiln.ResourceTemplate("test://template/{id}/data", "template", templateResource).
			WithDescription("", "A resource template with parameter substitution").
			WithMIMEType("application/json").WithValues("id", "123", "456"),
	}
}

func templateResource(_ context.Context, uri string, vars map[string]string) (kiln.ResourceContents, error) {
	id := vars["id"]
	return kiln.ResourceContents{URI: uri, MIMEType: "application/json",
		Text: fmt.Sprintf(`{"id": %q, "templateTest": true, "data": "Data for ID: %s"}`, id, id)}, nil
}

// contextResource asks the user for the context it returns, as
// contextPrompt does.
func contextResource(ctx context.Context, uri string) (kiln.ResourceContents, error) {
	msgs, err := contextPrompt(ctx, nil)
	if err != nil {
		return kiln.ResourceContents{}, err
	}
	return kiln.ResourceContents{URI: uri, MIMEType: "text/plain", Text: msgs[0].Content.Text}, nil
}
