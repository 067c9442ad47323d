package kiln

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Prompts and resources (toolkits/ABI.md section 2.1). A module offers
// them beside its tools in Module.Prompts, Module.Resources and
// Module.ResourceTemplates. Static ones (StaticPrompt, TextResource,
// BlobResource) are written into the manifest and served by the host
// without starting the module; dynamic ones (Prompt, Resource,
// ResourceTemplate) run their handler in the sandbox, under the same
// limits as a tool call.

// Reserved call names of the dynamic handlers (the host's
// manifest.PromptEntry and manifest.ResourceEntry).
const (
	promptEntry   = "kiln:prompt"
	resourceEntry = "kiln:resource"
)

// PromptDef is one prompt a module offers. Create it with Prompt or
// StaticPrompt.
type PromptDef struct {
	name, title, description string
	arguments                []PromptArgument
	messages                 []Message
	handler                  func(context.Context, map[string]string) ([]Message, error)
}

// PromptArgument is one argument of a prompt. Values, when given, are
// offered to clients by completion/complete (at most 100); they do not
// restrict what a client may send.
type PromptArgument struct {
	Name        string   `json:"name"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Values      []string `json:"values,omitempty"`
}

// Message is one message of a prompt: a role ("user" or "assistant") and
// one content item.
type Message struct {
	Role    string         `json:"role"`
	Content MessageContent `json:"content"`
}

// MessageContent is an MCP content item of a prompt message: "text"
// (Text), "image" or "audio" (Data in base64, MIMEType), or "resource" (an
// embedded Resource).
type MessageContent struct {
	Type     string
	Text     string
	Data     string
	MIMEType string
	Resource *ResourceContents
}

// MarshalJSON writes the content item as MCP defines it: a text item always
// has its text, even empty.
func (c MessageContent) MarshalJSON() ([]byte, error) {
	m := map[string]any{"type": c.Type}
	if c.Type == "text" || c.Text != "" {
		m["text"] = c.Text
	}
	if c.Data != "" {
		m["data"] = c.Data
	}
	if c.MIMEType != "" {
		m["mimeType"] = c.MIMEType
	}
	if c.Resource != nil {
		m["resource"] = c.Resource
	}
	return json.Marshal(m)
}

// UserText is a user message with one text item. In a StaticPrompt its
// {{argument}} placeholders are replaced by the arguments' values.
func UserText(text string) Message {
	return Message{Role: "user", Content: MessageContent{Type: "text", Text: text}}
}

// AssistantText is an assistant message with one text item.
func AssistantText(text string) Message {
	return Message{Role: "assistant", Content: MessageContent{Type: "text", Text: text}}
}

// StaticPrompt is a prompt the host serves from the manifest: its messages,
// with every {{argument}} placeholder in a text item replaced by the
// argument's value (an absent one by nothing).
func StaticPrompt(name, description string, messages ...Message) PromptDef {
	return PromptDef{name: name, description: description, messages: messages}
}

// Prompt is a prompt the module builds when a client asks for it: handler
// receives the client's arguments and returns the messages. It runs like a
// tool call, in a fresh sandboxed instance with the server's limits; an
// error reaches the client as a JSON-RPC error carrying its text.
func Prompt(name, description string, handler func(ctx context.Context, args map[string]string) ([]Message, error)) PromptDef {
	return PromptDef{name: name, description: description, handler: handler}
}

// WithTitle returns the prompt with a title for people.
func (p PromptDef) WithTitle(title string) PromptDef {
	p.title = title
	return p
}

// WithArguments returns the prompt with its arguments declared.
func (p PromptDef) WithArguments(args ...PromptArgument) PromptDef {
	p.arguments = args
	return p
}

// ResourceContents is the content of a resource: Text, or Blob (binary,
// sent in base64) when not nil.
type ResourceContents struct {
	URI      string
	MIMEType string
	Text     string
	Blob     []byte
}

// MarshalJSON writes MCP's TextResourceContents or BlobResourceContents.
func (c ResourceContents) MarshalJSON() ([]byte, error) {
	m := map[string]any{"uri": c.URI}
	if c.MIMEType != "" {
		m["mimeType"] = c.MIMEType
	}
	if c.Blob != nil {
		m["blob"] = base64.StdEncoding.EncodeToString(c.Blob)
	} else {
		m["text"] = c.Text
	}
	return json.Marshal(m)
}

// ResourceDef is one resource with a fixed URI. Create it with Resource,
// TextResource or BlobResource.
type ResourceDef struct {
	uri, name, title, description, mimeType string
	text                                    *string
	blob                                    []byte
	handler                                 func(context.Context, string) (ResourceContents, error)
}

// TextResource is a resource whose text the host serves from the manifest
// (at most 64 KiB).
func TextResource(uri, name, mimeType, text string) ResourceDef {
	return ResourceDef{uri: uri, name: name, mimeType: mimeType, text: &text}
}

// BlobResource is a binary resource the host serves from the manifest (at
// most 64 KiB).
func BlobResource(uri, name, mimeType string, data []byte) ResourceDef {
	return ResourceDef{uri: uri, name: name, mimeType: mimeType, blob: data}
}

// Resource is a resource the module reads when a client asks for it:
// handler receives the URI. It runs like a tool call, in the sandbox.
func Resource(uri, name string, handler func(ctx context.Context, uri string) (ResourceContents, error)) ResourceDef {
	return ResourceDef{uri: uri, name: name, handler: handler}
}

// WithDescription returns the resource with a description and a title.
func (r ResourceDef) WithDescription(title, description string) ResourceDef {
	r.title, r.description = title, description
	return r
}

// WithMIMEType returns the resource with its media type.
func (r ResourceDef) WithMIMEType(mimeType string) ResourceDef {
	r.mimeType = mimeType
	return r
}

// TemplateDef is a family of resources named by a URI template. Create it
// with ResourceTemplate.
type TemplateDef struct {
	uriTemplate, name, title, description, mimeType string
	values                                          map[string][]string
	handler                                         func(context.Context, string, map[string]string) (ResourceContents, error)
}

// ResourceTemplate is a family of resources whose URIs match uriTemplate,
// an RFC 6570 level 1 template ("notes://{id}"). handler receives the URI
// a client reads and the template's variables taken from it.
func ResourceTemplate(uriTemplate, name string, handler func(ctx context.Context, uri string, vars map[string]string) (ResourceContents, error)) TemplateDef {
	return TemplateDef{uriTemplate: uriTemplate, name: name, handler: handler}
}

// WithDescription returns the template with a description and a title.
func (t TemplateDef) WithDescription(title, description string) TemplateDef {
	t.title, t.description = title, description
	return t
}

// WithMIMEType returns the template with the media type of its resources.
func (t TemplateDef) WithMIMEType(mimeType string) TemplateDef {
	t.mimeType = mimeType
	return t
}

// WithValues returns the template with values offered by completion for a
// variable.
func (t TemplateDef) WithValues(variable string, values ...string) TemplateDef {
	m := make(map[string][]string, len(t.values)+1)
	for k, v := range t.values {
		m[k] = v
	}
	m[variable] = values
	t.values = m
	return t
}

// catalogManifest is the manifest's prompts, resources and templates.
type catalogManifest struct {
	Prompts           []promptEntryJSON   `json:"prompts,omitempty"`
	Resources         []resourceEntryJSON `json:"resources,omitempty"`
	ResourceTemplates []templateEntryJSON `json:"resourceTemplates,omitempty"`
}

type promptEntryJSON struct {
	Name        string           `json:"name"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Arguments   []PromptArgument `json:"arguments,omitempty"`
	Messages    []Message        `json:"messages,omitempty"`
	Dynamic     bool             `json:"dynamic,omitempty"`
}

type resourceEntryJSON struct {
	URI         string  `json:"uri"`
	Name        string  `json:"name"`
	Title       string  `json:"title,omitempty"`
	Description string  `json:"description,omitempty"`
	MIMEType    string  `json:"mimeType,omitempty"`
	Text        *string `json:"text,omitempty"`
	Blob        string  `json:"blob,omitempty"`
	Dynamic     bool    `json:"dynamic,omitempty"`
}

type templateEntryJSON struct {
	URITemplate string              `json:"uriTemplate"`
	Name        string              `json:"name"`
	Title       string              `json:"title,omitempty"`
	Description string              `json:"description,omitempty"`
	MIMEType    string              `json:"mimeType,omitempty"`
	Values      map[string][]string `json:"values,omitempty"`
}

// catalog describes m's prompts and resources for the manifest. The host
// checks every rule and limit when it loads the module.
func (m Module) catalog() catalogManifest {
	var c catalogManifest
	for _, p := range m.Prompts {
		c.Prompts = append(c.Prompts, promptEntryJSON{p.name, p.title, p.description, p.arguments, p.messages, p.handler != nil})
	}
	for _, r := range m.Resources {
		e := resourceEntryJSON{URI: r.uri, Name: r.name, Title: r.title, Description: r.description, MIMEType: r.mimeType,
			Text: r.text, Dynamic: r.handler != nil}
		if r.blob != nil {
			e.Blob = base64.StdEncoding.EncodeToString(r.blob)
		}
		c.Resources = append(c.Resources, e)
	}
	for _, t := range m.ResourceTemplates {
		c.ResourceTemplates = append(c.ResourceTemplates, templateEntryJSON{t.uriTemplate, t.name, t.title, t.description, t.mimeType, t.values})
	}
	return c
}

// entryInput is the input of the reserved entries, as the host sends it.
type entryInput struct {
	Name        string            `json:"name"`
	Arguments   map[string]string `json:"arguments"`
	URI         string            `json:"uri"`
	URITemplate string            `json:"uriTemplate"`
	Variables   map[string]string `json:"variables"`
}

// answerEntry serves a dynamic prompt or resource and returns its answer
// document: the MCP result, or {"error": "..."}.
func (m Module) answerEntry(ctx context.Context, entry string, input []byte) []byte {
	var in entryInput
	if err := json.Unmarshal(input, &in); err != nil {
		return entryError(fmt.Errorf("reading the %s input: %w", entry, err))
	}
	var out any
	var err error
	if entry == promptEntry {
		out, err = m.getPrompt(ctx, in)
	} else {
		out, err = m.readResource(ctx, in)
	}
	if err != nil {
		return entryError(err)
	}
	data, err := json.Marshal(out)
	if err != nil {
		return entryError(fmt.Errorf("encoding the answer: %w", err))
	}
	return data
}

func entryError(err error) []byte {
	data, _ := json.Marshal(map[string]string{"error": err.Error()})
	return data
}

func (m Module) getPrompt(ctx context.Context, in entryInput) (any, error) {
	for _, p := range m.Prompts {
		if p.name != in.Name || p.handler == nil {
			continue
		}
		msgs, err := p.handler(ctx, in.Arguments)
		if err != nil {
			return nil, err
		}
		return struct {
			Description string    `json:"description,omitempty"`
			Messages    []Message `json:"messages"`
		}{p.description, msgs}, nil
	}
	return nil, fmt.Errorf("no dynamic prompt %q", in.Name)
}

func (m Module) readResource(ctx context.Context, in entryInput) (any, error) {
	var c ResourceContents
	var err error
	switch {
	case in.URITemplate != "":
		t, ok := m.template(in.URITemplate)
		if !ok {
			return nil, fmt.Errorf("no resource template %q", in.URITemplate)
		}
		c, err = t.handler(ctx, in.URI, in.Variables)
	default:
		r, ok := m.dynamicResource(in.URI)
		if !ok {
			return nil, fmt.Errorf("no dynamic resource %q", in.URI)
		}
		c, err = r.handler(ctx, in.URI)
	}
	if err != nil {
		return nil, err
	}
	if c.URI == "" {
		c.URI = in.URI
	}
	return struct {
		Contents []ResourceContents `json:"contents"`
	}{[]ResourceContents{c}}, nil
}

func (m Module) template(uriTemplate string) (TemplateDef, bool) {
	for _, t := range m.ResourceTemplates {
		if t.uriTemplate == uriTemplate && t.handler != nil {
			return t, true
		}
	}
	return TemplateDef{}, false
}

func (m Module) dynamicResource(uri string) (ResourceDef, bool) {
	for _, r := range m.Resources {
		if r.uri == uri && r.handler != nil {
			return r, true
		}
	}
	return ResourceDef{}, false
}

var errTemplateHandler = errors.New("a resource template needs a handler")

// checkCatalog refuses what the toolkit can tell is wrong before the host
// does: a template without a handler.
func (m Module) checkCatalog() error {
	for _, t := range m.ResourceTemplates {
		if t.handler == nil {
			return fmt.Errorf("template %q: %w", t.uriTemplate, errTemplateHandler)
		}
	}
	return nil
}

// Name returns the prompt's name.
func (p PromptDef) Name() string { return p.name }

// URI returns the resource's URI.
func (r ResourceDef) URI() string { return r.uri }

// URITemplate returns the template's URI template.
func (t TemplateDef) URITemplate() string { return t.uriTemplate }
