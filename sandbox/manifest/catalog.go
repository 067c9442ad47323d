package manifest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Prompts, resources and resource templates (ABI 2, toolkits/ABI.md section
// 2.1). A module declares them beside its tools; a static one is served by
// the host from the manifest alone, a dynamic one by the module's call
// entry under a reserved name (PromptEntry, ResourceEntry), in the same
// sandbox and under the same limits as a tool call.

// Reserved call names of the dynamic handlers. They hold a colon, which a
// tool name never does, so they cannot clash with a tool.
const (
	PromptEntry   = "kiln:prompt"
	ResourceEntry = "kiln:resource"
)

// Limits of the prompts and resources a manifest may declare. Every one is
// checked by Validate; the manifest's own MaxSize bounds their sum.
const (
	MaxPrompts           = 64
	MaxResources         = 256
	MaxResourceTemplates = 64
	MaxPromptArguments   = 32
	MaxPromptMessages    = 32
	// MaxValues caps an argument's or a template variable's list of
	// values (offered by completion/complete); MaxValueLen caps each.
	MaxValues   = 100
	MaxValueLen = 256
	// MaxDescription caps a prompt's, argument's, resource's or template's
	// description, in bytes.
	MaxDescription = 4096
	// MaxURI caps a resource URI and a URI template, in bytes.
	MaxURI = 1024
	// MaxContentBytes caps a static resource's text or decoded blob, and
	// one encoded prompt message.
	MaxContentBytes = 64 << 10
	// MaxTemplateVariables caps the variables of one URI template.
	MaxTemplateVariables = 8
)

// Prompt is one MCP prompt. Static prompts carry Messages, whose text items
// may hold {{argument}} placeholders; dynamic ones are built by the module.
type Prompt struct {
	Name        string           `json:"name"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Arguments   []PromptArgument `json:"arguments,omitempty"`
	Messages    []PromptMessage  `json:"messages,omitempty"`
	Dynamic     bool             `json:"dynamic,omitempty"`
}

// PromptArgument is one argument of a prompt. Values, when given, are the
// values completion/complete offers; they do not restrict what a client
// may send.
type PromptArgument struct {
	Name        string   `json:"name"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Values      []string `json:"values,omitempty"`
}

// PromptMessage is one message of a static prompt: MCP's PromptMessage,
// whose content is one MCP content item.
type PromptMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// Resource is one MCP resource with a fixed URI: its content is Text or
// Blob (base64), or, when Dynamic, whatever the module answers.
type Resource struct {
	URI         string  `json:"uri"`
	Name        string  `json:"name"`
	Title       string  `json:"title,omitempty"`
	Description string  `json:"description,omitempty"`
	MIMEType    string  `json:"mimeType,omitempty"`
	Text        *string `json:"text,omitempty"`
	Blob        string  `json:"blob,omitempty"`
	Dynamic     bool    `json:"dynamic,omitempty"`
}

// ResourceTemplate is a family of resources named by an RFC 6570 level 1
// URI template ({name} expressions only). The module serves every read.
// Values offers completion values per variable.
type ResourceTemplate struct {
	URITemplate string              `json:"uriTemplate"`
	Name        string              `json:"name"`
	Title       string              `json:"title,omitempty"`
	Description string              `json:"description,omitempty"`
	MIMEType    string              `json:"mimeType,omitempty"`
	Values      map[string][]string `json:"values,omitempty"`
}

var (
	argNamePattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	placeholder     = regexp.MustCompile(`\{\{([A-Za-z_][A-Za-z0-9_]{0,63})\}\}`)
	schemePattern   = regexp.MustCompile(`^([a-z][a-z0-9+.-]{0,31}):`)
	mimePattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}(;.{0,127})?$`)
	templateExpr    = regexp.MustCompile(`\{([^{}]*)\}`)
	templateVarName = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
)

// refusedSchemes are URI schemes a module may not name its resources with:
// a sandboxed module has no files (file), and http(s), data and javascript
// URIs would claim content of the web or of the client itself, which a
// client may fetch or trust on its own.
var refusedSchemes = map[string]bool{"file": true, "http": true, "https": true, "data": true, "javascript": true}

var messageContentTypes = map[string]bool{"text": true, "image": true, "audio": true, "resource": true, "resource_link": true}

// validateCatalog checks the prompts, resources and templates of m.
func (m *Manifest) validateCatalog() error {
	if m.ABI < 2 {
		if len(m.Prompts)+len(m.Resources)+len(m.ResourceTemplates) > 0 {
			return invalid("prompts and resources need abi 2 (this manifest says abi %d)", m.ABI)
		}
		return nil
	}
	if err := countAtMost("prompts", len(m.Prompts), MaxPrompts); err != nil {
		return err
	}
	if err := countAtMost("resources", len(m.Resources), MaxResources); err != nil {
		return err
	}
	if err := countAtMost("resourceTemplates", len(m.ResourceTemplates), MaxResourceTemplates); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, p := range m.Prompts {
		if err := p.validate(); err != nil {
			return invalid("prompts[%d]: %v", i, err)
		}
		if seen["p "+p.Name] {
			return invalid("prompt %q is declared twice", p.Name)
		}
		seen["p "+p.Name] = true
	}
	for i, r := range m.Resources {
		if err := r.validate(); err != nil {
			return invalid("resources[%d]: %v", i, err)
		}
		if seen["r "+r.URI] {
			return invalid("resource %q is declared twice", r.URI)
		}
		seen["r "+r.URI] = true
	}
	for i, t := range m.ResourceTemplates {
		if err := t.validate(); err != nil {
			return invalid("resourceTemplates[%d]: %v", i, err)
		}
		if seen["t "+t.URITemplate] {
			return invalid("resource template %q is declared twice", t.URITemplate)
		}
		seen["t "+t.URITemplate] = true
	}
	return nil
}

func countAtMost(what string, n, most int) error {
	if n > most {
		return invalid("%d %s declared, at most %d are allowed", n, what, most)
	}
	return nil
}

func (p Prompt) validate() error {
	if !toolNamePattern.MatchString(p.Name) {
		return fmt.Errorf("name %q must be 1-64 characters of A-Z a-z 0-9 _ . -", p.Name)
	}
	if err := checkLabels(p.Title, p.Description); err != nil {
		return fmt.Errorf("prompt %q: %w", p.Name, err)
	}
	if len(p.Arguments) > MaxPromptArguments {
		return fmt.Errorf("prompt %q: %d arguments, at most %d are allowed", p.Name, len(p.Arguments), MaxPromptArguments)
	}
	args := map[string]bool{}
	for _, a := range p.Arguments {
		if !argNamePattern.MatchString(a.Name) {
			return fmt.Errorf("prompt %q: argument name %q must match %s", p.Name, a.Name, argNamePattern)
		}
		if args[a.Name] {
			return fmt.Errorf("prompt %q: argument %q is declared twice", p.Name, a.Name)
		}
		args[a.Name] = true
		if err := checkLabels(a.Title, a.Description); err != nil {
			return fmt.Errorf("prompt %q: argument %q: %w", p.Name, a.Name, err)
		}
		if err := checkValues(a.Values); err != nil {
			return fmt.Errorf("prompt %q: argument %q: %w", p.Name, a.Name, err)
		}
	}
	switch {
	case p.Dynamic && len(p.Messages) > 0:
		return fmt.Errorf("prompt %q: a dynamic prompt has no messages (the module makes them)", p.Name)
	case !p.Dynamic && len(p.Messages) == 0:
		return fmt.Errorf("prompt %q: give messages, or mark it dynamic", p.Name)
	case len(p.Messages) > MaxPromptMessages:
		return fmt.Errorf("prompt %q: %d messages, at most %d are allowed", p.Name, len(p.Messages), MaxPromptMessages)
	}
	for i, msg := range p.Messages {
		if err := msg.validate(args); err != nil {
			return fmt.Errorf("prompt %q: messages[%d]: %w", p.Name, i, err)
		}
	}
	return nil
}

// validate checks one static message: its role, its content item, and that
// every placeholder in a text item names a declared argument.
func (msg PromptMessage) validate(args map[string]bool) error {
	if msg.Role != "user" && msg.Role != "assistant" {
		return fmt.Errorf(`role %q must be "user" or "assistant"`, msg.Role)
	}
	if len(msg.Content) > MaxContentBytes {
		return fmt.Errorf("content is %d bytes, more than the %d allowed", len(msg.Content), MaxContentBytes)
	}
	var c struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(msg.Content, &c); err != nil {
		return fmt.Errorf("content must be an MCP content object: %v", err)
	}
	if !messageContentTypes[c.Type] {
		return fmt.Errorf("content type %q is not one of text, image, audio, resource, resource_link", c.Type)
	}
	for _, m := range placeholder.FindAllStringSubmatch(c.Text, -1) {
		if !args[m[1]] {
			return fmt.Errorf("placeholder {{%s}} names no argument of the prompt", m[1])
		}
	}
	return nil
}

// Fill returns the text with each {{argument}} placeholder replaced by its
// value (an absent argument by nothing). Only placeholders naming declared
// arguments exist in a valid manifest.
func Fill(text string, args map[string]string) string {
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		return args[m[2:len(m)-2]]
	})
}

func (r Resource) validate() error {
	if err := checkURI(r.URI); err != nil {
		return fmt.Errorf("uri %q: %w", r.URI, err)
	}
	if err := checkName(r.Name); err != nil {
		return fmt.Errorf("resource %q: %w", r.URI, err)
	}
	if err := checkLabels(r.Title, r.Description); err != nil {
		return fmt.Errorf("resource %q: %w", r.URI, err)
	}
	if err := checkMIME(r.MIMEType); err != nil {
		return fmt.Errorf("resource %q: %w", r.URI, err)
	}
	kinds := 0
	for _, set := range []bool{r.Text != nil, r.Blob != "", r.Dynamic} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return fmt.Errorf("resource %q: give exactly one of text, blob or dynamic", r.URI)
	}
	size := 0
	if r.Text != nil {
		size = len(*r.Text)
	}
	if r.Blob != "" {
		data, err := base64.StdEncoding.DecodeString(r.Blob)
		if err != nil {
			return fmt.Errorf("resource %q: blob is not base64: %v", r.URI, err)
		}
		size = len(data)
	}
	if size > MaxContentBytes {
		return fmt.Errorf("resource %q: content is %d bytes, more than the %d allowed", r.URI, size, MaxContentBytes)
	}
	return nil
}

func (t ResourceTemplate) validate() error {
	vars, err := TemplateVariables(t.URITemplate)
	if err != nil {
		return fmt.Errorf("uriTemplate %q: %w", t.URITemplate, err)
	}
	if err := checkName(t.Name); err != nil {
		return fmt.Errorf("template %q: %w", t.URITemplate, err)
	}
	if err := checkLabels(t.Title, t.Description); err != nil {
		return fmt.Errorf("template %q: %w", t.URITemplate, err)
	}
	if err := checkMIME(t.MIMEType); err != nil {
		return fmt.Errorf("template %q: %w", t.URITemplate, err)
	}
	for name, values := range t.Values {
		if !containsString(vars, name) {
			return fmt.Errorf("template %q: values for %q, which is not a variable of the template", t.URITemplate, name)
		}
		if err := checkValues(values); err != nil {
			return fmt.Errorf("template %q: variable %q: %w", t.URITemplate, name, err)
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TemplateVariables checks an RFC 6570 level 1 URI template (literal text
// and {name} expressions, no operators) and returns its variable names.
func TemplateVariables(tmpl string) ([]string, error) {
	var vars []string
	for _, m := range templateExpr.FindAllStringSubmatch(tmpl, -1) {
		if !templateVarName.MatchString(m[1]) {
			return nil, fmt.Errorf("expression {%s}: only level 1 expressions, {name} with name 1-32 characters of A-Z a-z 0-9 _, are supported", m[1])
		}
		if containsString(vars, m[1]) {
			return nil, fmt.Errorf("variable %q appears twice", m[1])
		}
		vars = append(vars, m[1])
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("has no {variable}: declare a resource instead")
	}
	if len(vars) > MaxTemplateVariables {
		return nil, fmt.Errorf("%d variables, at most %d are allowed", len(vars), MaxTemplateVariables)
	}
	literal := templateExpr.ReplaceAllString(tmpl, "x")
	if strings.ContainsAny(literal, "{}") {
		return nil, fmt.Errorf("unbalanced braces")
	}
	if len(tmpl) > MaxURI {
		return nil, fmt.Errorf("is %d bytes, more than the %d allowed", len(tmpl), MaxURI)
	}
	if err := checkURI(literal); err != nil {
		return nil, err
	}
	return vars, nil
}

// checkURI requires an absolute URI of at most MaxURI bytes, without
// spaces or control characters, whose scheme is not refused.
func checkURI(uri string) error {
	if len(uri) > MaxURI {
		return fmt.Errorf("is %d bytes, more than the %d allowed", len(uri), MaxURI)
	}
	m := schemePattern.FindStringSubmatch(uri)
	if m == nil {
		return fmt.Errorf("must be an absolute URI with a scheme such as notes://")
	}
	if refusedSchemes[m[1]] {
		return fmt.Errorf("scheme %q is not allowed for a module's resources (file, http, https, data and javascript are refused): use a scheme of your own", m[1])
	}
	for _, r := range uri {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("holds the character %U", r)
		}
	}
	if _, err := url.Parse(uri); err != nil {
		return fmt.Errorf("does not parse: %v", err)
	}
	return nil
}

// checkName bounds a resource's or template's name (MCP requires one).
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("name is missing")
	}
	if err := checkTitle(name); err != nil {
		return fmt.Errorf("name %v", err)
	}
	return nil
}

// checkLabels bounds a title (as a tool's) and a description.
func checkLabels(title, description string) error {
	if err := checkTitle(title); err != nil {
		return fmt.Errorf("title %v", err)
	}
	if len(description) > MaxDescription {
		return fmt.Errorf("description is %d bytes, more than the %d allowed", len(description), MaxDescription)
	}
	return nil
}

func checkMIME(mime string) error {
	if mime != "" && !mimePattern.MatchString(mime) {
		return fmt.Errorf("mimeType %q is not a media type such as text/plain", mime)
	}
	return nil
}

func checkValues(values []string) error {
	if len(values) > MaxValues {
		return fmt.Errorf("%d values, at most %d are allowed", len(values), MaxValues)
	}
	for _, v := range values {
		if len(v) > MaxValueLen {
			return fmt.Errorf("value of %d bytes, more than the %d allowed", len(v), MaxValueLen)
		}
	}
	return nil
}

// HasDynamicPrompts reports whether the module serves some prompt itself.
func (m *Manifest) HasDynamicPrompts() bool {
	for _, p := range m.Prompts {
		if p.Dynamic {
			return true
		}
	}
	return false
}

// HasDynamicResources reports whether the module serves some resource or
// resource template itself.
func (m *Manifest) HasDynamicResources() bool {
	for _, r := range m.Resources {
		if r.Dynamic {
			return true
		}
	}
	return len(m.ResourceTemplates) > 0
}

// ClashError: two modules of one server declare the same prompt name,
// resource URI or resource template.
type ClashError struct {
	Kind          string // "prompt", "resource" or "resource template"
	Name          string
	First, Second string // the owners, as given to Catalog.Add
}

func (e *ClashError) Error() string {
	return fmt.Sprintf("%s %q is declared by both %s and %s", e.Kind, e.Name, e.First, e.Second)
}

// Catalog is the union of the prompts and resources of a server's modules,
// built module by module. It is the one clash check: the API runs it before
// a deploy commits, and the host again when it builds the server.
type Catalog struct{ owners map[string]string }

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{owners: map[string]string{}} }

// Add adds m's prompts, resources and templates under owner (a phrase
// naming the module, such as `the module of tool "x"`), or returns a
// *ClashError and adds nothing.
func (c *Catalog) Add(owner string, m *Manifest) error {
	type entry struct{ key, kind, name string }
	var entries []entry
	for _, p := range m.Prompts {
		entries = append(entries, entry{"prompt\x00" + p.Name, "prompt", p.Name})
	}
	for _, r := range m.Resources {
		entries = append(entries, entry{"resource\x00" + r.URI, "resource", r.URI})
	}
	for _, t := range m.ResourceTemplates {
		entries = append(entries, entry{"template\x00" + templateShape(t.URITemplate), "resource template", t.URITemplate})
	}
	for _, e := range entries {
		if first, ok := c.owners[e.key]; ok && first != owner {
			return &ClashError{Kind: e.kind, Name: e.name, First: first, Second: owner}
		}
	}
	for _, e := range entries {
		c.owners[e.key] = owner
	}
	return nil
}

// templateShape is a level-1 URI template with its variables unnamed:
// notes://{id} and notes://{name} match the same URIs, so two modules
// declaring them clash (a read could reach only one of them).
func templateShape(t string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(t, '{')
		end := strings.IndexByte(t[max(open, 0):], '}')
		if open < 0 || end < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:open+1])
		t = t[open+end:]
	}
}

// Owned is one module's manifest document and the phrase naming it in a
// clash (such as `the module of tool "x"`).
type Owned struct {
	Owner string
	Doc   []byte
}

// CheckUnion parses the manifests of a server's modules, each given once,
// and returns a *ClashError if two declare the same prompt, resource or
// template. The API and the wizard run it in the transaction of a deploy.
func CheckUnion(mods []Owned) error {
	c := NewCatalog()
	for _, o := range mods {
		m, err := Parse(o.Doc)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Owner, err)
		}
		if err := c.Add(o.Owner, m); err != nil {
			return err
		}
	}
	return nil
}
