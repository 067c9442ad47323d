// Package kiln is the Go toolkit for writing Kiln tool modules.
//
// A tool module is a WebAssembly (WASI preview1) program that offers one or
// more tools to AI agents. With this package a tool is a typed Go function;
// the toolkit derives the tool's JSON Schemas from the Go types, validates
// and decodes the arguments, encodes the result, and turns a returned error
// into an MCP error result (isError). The wire contract it implements is
// toolkits/ABI.md.
//
//	type In struct {
//		Text string `json:"text" description:"The text to count words in"`
//	}
//	type Out struct {
//		Words int `json:"words"`
//	}
//
//	func count(ctx context.Context, in In) (Out, error) {
//		return Out{Words: len(strings.Fields(in.Text))}, nil
//	}
//
//	func main() {
//		kiln.Run(kiln.Module{Tools: []kiln.Tool{
//			kiln.NewTool("word_count", "Counts the words in a text", count),
//		}})
//	}
//
// While it runs, a tool can tell the agent's client how far it has come and
// what it is doing (Progress, Log), and a tool can describe itself for
// clients with a title and MCP's annotations (WithTitle, WithAnnotations):
//
//	func count(ctx context.Context, in In) (Out, error) {
//		kiln.Progress(ctx, 0, 1, "counting")
//		kiln.Log(ctx, kiln.LevelInfo, "counting words", "bytes", len(in.Text))
//		...
//	}
//
//	kiln.NewTool("word_count", "Counts the words in a text", count).
//		WithAnnotations(kiln.Annotations{ReadOnlyHint: true, OpenWorldHint: kiln.Bool(false)})
//
// Beside its tools a module may offer MCP prompts and resources
// (catalog.go): static ones, which the host serves from the manifest, and
// dynamic ones, whose handlers run in the sandbox like a tool:
//
//	kiln.Run(kiln.Module{
//		Tools:   tools,
//		Prompts: []kiln.PromptDef{kiln.StaticPrompt("review", "Asks for a review", kiln.UserText("Review:\n{{code}}")).
//			WithArguments(kiln.PromptArgument{Name: "code", Required: true})},
//		Resources: []kiln.ResourceDef{kiln.TextResource("notes://readme", "readme", "text/markdown", "# Notes")},
//		ResourceTemplates: []kiln.TemplateDef{kiln.ResourceTemplate("notes://note/{id}", "note", readNote)},
//	})
//
// Build it with `kiln build DIR -o tool.wasm`. Outside Kiln (go run on your
// machine) the result is printed to stdout, which makes quick checks easy:
//
//	echo '{"text":"a b c"}' | go run . word_count
package kiln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sync"
	"unsafe"
)

// ABIVersion is the version of toolkits/ABI.md this toolkit implements:
// its modules need a host of that version or later.
const ABIVersion = 2

// DescribeTool is the reserved tool name under which `kiln build` runs a
// module once to collect its manifest. It cannot clash with a real tool
// because tool names may not contain a colon.
const DescribeTool = "kiln:describe"

// Module describes everything a tool module offers and needs.
type Module struct {
	// Tools are the tools the module offers. At least one is required.
	Tools []Tool
	// Env declares the environment variables the module reads. The host passes
	// only declared variables; anything else is invisible to the module.
	Env []EnvVar
	// Egress lists the hosts the module may reach over the host HTTP function
	// (for example "api.github.com" or "*.example.com").
	Egress []string
	// Prompts, Resources and ResourceTemplates are what the module offers
	// beside its tools (catalog.go): create them with StaticPrompt or
	// Prompt, TextResource, BlobResource or Resource, and ResourceTemplate.
	Prompts           []PromptDef
	Resources         []ResourceDef
	ResourceTemplates []TemplateDef
	// Warm, when set, runs once when a reactor initialises, after the
	// toolkit has collected the garbage main left and just before the
	// host's snapshot, which every call starts from: what it leaves in
	// caches a collection empties (sync.Pool, which math/big, fmt and
	// encoding/json use) each call finds filled instead of filling it
	// again. One representative call of a tool's work is enough. It sees
	// no env vars and may not call the host (Run's calls are not served
	// yet); the command form never runs it.
	Warm func()
}

// EnvVar declares one environment variable a module reads.
type EnvVar struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Required variables must be configured before the server can be called.
	Required bool `json:"required,omitempty"`
	// Secret values are stored encrypted and never shown after they are set.
	Secret bool `json:"secret,omitempty"`
	// PerRequest variables may also arrive with each request (X-Kiln-Env-NAME).
	PerRequest bool `json:"perRequest,omitempty"`
}

// Tool is one callable tool. Create it with NewTool.
type Tool struct {
	name        string
	description string
	title       string
	annotations *Annotations
	err         error // a bad name or input type, reported by Run
	// input and output derive the schemas when first needed: a call needs
	// only its own tool's input schema, and every call starts a fresh
	// instance, so work done for all tools up front would be paid each time.
	// output returns nil for an unstructured result.
	input, output func() (*Schema, error)
	call          func(ctx context.Context, args json.RawMessage) Result
	// prime fills, at a reactor's initialisation, the caches a call would
	// otherwise fill on every restored instance (Module.warm).
	prime func()
}

// Name returns the tool's name.
func (t Tool) Name() string { return t.name }

// WithTitle returns the tool with a title: a short label for people, which
// clients show instead of the name (at most 256 bytes, one line).
func (t Tool) WithTitle(title string) Tool {
	t.title = title
	return t
}

// WithAnnotations returns the tool with MCP's hints about what it does,
// which clients may use to decide, say, whether to ask the user first:
//
//	kiln.NewTool("get_forecast", "Gets the forecast", forecast).
//		WithAnnotations(kiln.Annotations{ReadOnlyHint: true})
//	kiln.NewTool("delete_note", "Deletes a note", deleteNote).
//		WithAnnotations(kiln.Annotations{IdempotentHint: true, OpenWorldHint: kiln.Bool(false)})
//
// They are hints for a client, never guarantees, and Kiln does not check
// them: the sandbox's limits hold whatever a tool says about itself.
func (t Tool) WithAnnotations(a Annotations) Tool {
	t.annotations = &a
	return t
}

// Annotations are MCP's ToolAnnotations. The field types follow the MCP Go
// SDK: a hint whose MCP default is true (DestructiveHint, OpenWorldHint)
// is a pointer, nil meaning that default; see Bool.
type Annotations struct {
	// Title is a title for the tool; WithTitle sets the tool's own, which
	// clients prefer.
	Title string `json:"title,omitempty"`
	// ReadOnlyHint: the tool does not change its environment (default false).
	ReadOnlyHint bool `json:"readOnlyHint,omitempty"`
	// DestructiveHint: the tool may delete or overwrite, rather than only
	// add (default true; meaningful only when ReadOnlyHint is false).
	DestructiveHint *bool `json:"destructiveHint,omitempty"`
	// IdempotentHint: calling it again with the same arguments has no
	// further effect (default false; meaningful only when ReadOnlyHint is
	// false).
	IdempotentHint bool `json:"idempotentHint,omitempty"`
	// OpenWorldHint: the tool reaches an open world of outside entities,
	// such as the web; false for a closed domain (default true).
	OpenWorldHint *bool `json:"openWorldHint,omitempty"`
}

// Bool returns a pointer to v, for the pointer fields of Annotations.
func Bool(v bool) *bool { return &v }

// maxTitle caps a title, as the host does (toolkits/ABI.md).
const maxTitle = 256

// checkTitle refuses a title the host would refuse, so that the build says
// so rather than the upload.
func checkTitle(tool, what, title string) error {
	if len(title) > maxTitle {
		return fmt.Errorf("tool %s: %s is %d bytes, more than %d", tool, what, len(title), maxTitle)
	}
	for _, r := range title {
		if r < 0x20 || 0x7f <= r && r <= 0x9f {
			return fmt.Errorf("tool %s: %s holds the control character %U", tool, what, r)
		}
	}
	return nil
}

// validToolName reports whether name is 1-64 characters of A-Z a-z 0-9 _ . -.
// (A loop, not a regexp: compiling one would cost every call.)
func validToolName(name string) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// NewTool turns a typed handler into a tool. In must be a struct (its fields
// are the tool's arguments); Out is the result:
//   - a struct or map becomes structuredContent (with an output schema) and a
//     text item holding the same JSON;
//   - a string becomes a single text item;
//   - a Result is passed through as is.
//
// Struct fields use their `json` tag for the name, a `description` tag for
// the schema description and an `enum:"a,b,c"` tag to restrict values.
// Fields are required unless they are pointers or tagged omitempty.
//
// A handler error becomes a result with isError set and the error text as
// content: the agent sees it and can correct its call.
func NewTool[In, Out any](name, description string, handler func(context.Context, In) (Out, error)) Tool {
	t := Tool{name: name, description: description}
	if !validToolName(name) {
		t.err = fmt.Errorf("tool name %q must be 1-64 characters of A-Z a-z 0-9 _ . -", name)
		return t
	}
	inType := reflect.TypeFor[In]()
	if inType.Kind() != reflect.Struct {
		t.err = fmt.Errorf("tool %s: input type %s must be a struct", name, inType)
		return t
	}
	outType := reflect.TypeFor[Out]()
	structured := outType.Kind() == reflect.Struct && outType != reflect.TypeFor[Result]() ||
		outType.Kind() == reflect.Map
	t.input = sync.OnceValues(func() (*Schema, error) {
		s, err := SchemaFor(inType)
		if err != nil {
			return nil, fmt.Errorf("tool %s: input: %w", name, err)
		}
		return s, nil
	})
	t.output = sync.OnceValues(func() (*Schema, error) {
		if !structured {
			return nil, nil
		}
		s, err := SchemaFor(outType)
		if err != nil {
			return nil, fmt.Errorf("tool %s: output: %w", name, err)
		}
		return s, nil
	})
	decoder := sync.OnceValue(func() *fastDecoder { return newFastDecoder(inType) })
	encoder := sync.OnceValue(func() *fastEncoder {
		if !structured {
			return nil
		}
		return newFastEncoder(outType) // nil for a map
	})
	t.prime = func() {
		primeCodecs(inType, outType)
		decoder()
		encoder()
	}
	t.call = func(ctx context.Context, args json.RawMessage) Result {
		if !reactor { // a reactor's host has checked them (ABI section 3.1)
			input, err := t.input()
			if err != nil {
				return ErrorResult(err)
			}
			if err := input.ValidateJSON(args); err != nil {
				return ErrorResult(fmt.Errorf("invalid arguments: %w", err))
			}
		}
		var in In
		if d := decoder(); d == nil || !d.decode(args, reflect.ValueOf(&in).Elem()) {
			in = *new(In) // the fast decoder may have set fields before it declined
			if err := json.Unmarshal(args, &in); err != nil {
				return ErrorResult(fmt.Errorf("invalid arguments: %w", err))
			}
		}
		out, err := handler(ctx, in)
		if err != nil {
			return ErrorResult(err)
		}
		return toResult(out, structured, encoder())
	}
	return t
}

// toResult is generic so that a string or Result is not boxed (allocated)
// on its way to the switch. enc is the fast encoder of Out, if it has one
// (encode_fast.go); json.Marshal encodes what it declines.
func toResult[Out any](out Out, structured bool, enc *fastEncoder) Result {
	switch v := any(out).(type) {
	case Result:
		return v
	case string:
		return TextResult(v)
	}
	var data []byte
	by, ok := byFastEncoder, false
	if enc != nil {
		data, ok = enc.encode(reflect.ValueOf(any(out)))
	}
	if !ok {
		var err error
		if data, err = json.Marshal(out); err != nil {
			return ErrorResult(fmt.Errorf("encoding result: %w", err))
		}
		by = byMarshal
	}
	// The text shares data's bytes, which nothing writes to any more.
	r := Result{Content: []Content{{Type: "text", Text: unsafe.String(unsafe.SliceData(data), len(data))}}}
	if structured && string(data) != "null" {
		r.StructuredContent, r.structuredBy = data, by
	}
	return r
}

// Result is an MCP tool result.
type Result struct {
	Content           []Content       `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	IsError           bool            `json:"isError,omitempty"`
	// structuredBy is what wrote StructuredContent (result_json.go).
	structuredBy encodedBy
}

// Content is one MCP content item: text, or base64 data for images and audio.
type Content struct {
	Type     string `json:"type"` // "text", "image" or "audio"
	Text     string `json:"text,omitempty"`
	Data     string `json:"data,omitempty"`
	MIMEType string `json:"mimeType,omitempty"`
}

// TextResult returns a result with a single text item.
func TextResult(text string) Result {
	return Result{Content: []Content{{Type: "text", Text: text}}}
}

// ErrorResult returns an isError result carrying err's message.
func ErrorResult(err error) Result {
	r := TextResult(err.Error())
	r.IsError = true
	return r
}

// Env returns the value of a declared environment variable ("" when unset).
func Env(name string) string { return os.Getenv(name) }

// Run serves the module. Call it from main.
//
// In a command module (`_start`), Run serves the one call the instance was
// started for and exits. In a reactor module (what `kiln build` makes,
// toolkits/ABI.md section 3.1), the host runs main once, at initialisation,
// and Run only records m and returns; every call then arrives through the
// exported call entry, on an instance the host restores to its state right
// after initialisation. Code after Run in main runs at initialisation.
func Run(m Module) {
	if reactor {
		m.warm()
		served = &m
		return
	}
	os.Exit(serve(m, os.Args, os.Stdin, defaultHost()))
}

// reactor is set by the reactor's init entry before it runs main; served
// is the module main handed to Run.
var (
	reactor bool
	served  *Module
	// resultBuffer, made by a reactor's init entry (scratchSize), holds
	// result documents that fit, so that a call need not allocate one;
	// the host copies the document out (kiln.result).
	resultBuffer []byte
)

// scratchSize is the size of a reactor's buffers for call and result
// documents (a larger document is allocated as before).
const scratchSize = 4096

// warm primes every tool's JSON codecs at initialisation, where the
// host's snapshot keeps them: a reactor's instance is restored to that
// snapshot after every call, so whatever a call caches lazily it would
// otherwise rebuild on every call (for the echo tool, 80% of its
// instructions). It runs no handler. (A reactor does not check arguments
// against the input schema, so it derives no schema for calls.)
func (m Module) warm() {
	os.Getenv("") // copies the environment once (syscall's envOnce)
	for _, t := range m.Tools {
		if t.err == nil {
			t.prime()
		}
	}
	primeCodecs(reflect.TypeFor[Result](), reflect.TypeFor[Result]())
}

// primeCodecs builds encoding/json's cached codecs for in and out without
// running code of theirs: decoding "{}" reads no field and marshalling a
// nil pointer writes null, and both skip types with their own JSON methods
// (whose code would run).
func primeCodecs(in, out reflect.Type) {
	if in.Kind() == reflect.Struct && !reflect.PointerTo(in).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		_ = json.Unmarshal([]byte("{}"), reflect.New(in).Interface())
	}
	_, _ = json.Marshal(reflect.Zero(reflect.PointerTo(out)).Interface())
}

// host is the part of the ABI the toolkit calls; tests substitute a recorder.
type host interface {
	result(data []byte)
	// logMessage sends a log message document (log.go).
	logMessage(level Level, doc []byte)
	progress(progress, total float64, message string)
	httpRequest(req []byte) []byte
	// input asks the caller (input.go): kind is the host function, doc
	// its request; nil when there is no one to ask.
	input(kind string, doc []byte) []byte
	// stopForInput ends the call normally after deferred questions went
	// unanswered, for the host to ask them (AskAll).
	stopForInput()
}

// serve implements one call and returns the process exit status.
func serve(m Module, args []string, stdin io.Reader, h host) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "kiln: no tool name in argv[0]")
		return 2
	}
	name := args[0]
	if len(args) > 1 { // native runs: `go run . TOOL`
		name = args[1]
	}
	return m.answer(hostContext(h), name, func() ([]byte, error) { return io.ReadAll(stdin) })
}

// answer runs tool name with the arguments args returns and hands the
// result document to the host of ctx (hostContext); it returns the exit
// status.
func (m Module) answer(ctx context.Context, name string, args func() ([]byte, error)) int {
	h := hostFrom(ctx)
	if name == DescribeTool {
		man, err := m.manifest()
		if err != nil {
			fmt.Fprintln(os.Stderr, "kiln:", err)
			return 3
		}
		h.result(man)
		return 0
	}
	if name == promptEntry || name == resourceEntry {
		input, err := args()
		if err != nil {
			input = nil
		}
		h.result(m.answerEntry(ctx, name, input))
		return 0
	}
	res := m.call(ctx, name, args)
	buf := resultBuffer[:0]
	if n := res.jsonSizeHint(); n > cap(buf) {
		buf = make([]byte, 0, n)
	}
	data, err := res.appendJSON(buf)
	if err != nil { // only a handler's own Result with invalid JSON gets here
		data, _ = ErrorResult(fmt.Errorf("encoding result: %w", err)).appendJSON(nil)
	}
	h.result(data)
	return 0
}

func (m Module) call(ctx context.Context, name string, readArgs func() ([]byte, error)) Result {
	for i := range m.Tools {
		t := &m.Tools[i]
		if t.name != name {
			continue
		}
		if t.err != nil {
			return ErrorResult(t.err)
		}
		args, err := readArgs()
		if err != nil {
			return ErrorResult(fmt.Errorf("reading arguments: %w", err))
		}
		if len(args) == 0 {
			args = []byte("{}")
		}
		return t.call(ctx, args)
	}
	return ErrorResult(fmt.Errorf("unknown tool %q", name))
}

// manifest is the JSON written into the module's kiln.manifest section.
func (m Module) manifest() ([]byte, error) {
	type toolEntry struct {
		Name         string       `json:"name"`
		Title        string       `json:"title,omitempty"`
		Description  string       `json:"description,omitempty"`
		InputSchema  *Schema      `json:"inputSchema"`
		OutputSchema *Schema      `json:"outputSchema,omitempty"`
		Annotations  *Annotations `json:"annotations,omitempty"`
	}
	if len(m.Tools) == 0 {
		return nil, errors.New("module declares no tools")
	}
	if err := m.checkCatalog(); err != nil {
		return nil, err
	}
	out := struct {
		ABI    int         `json:"abi"`
		Tools  []toolEntry `json:"tools"`
		Env    []EnvVar    `json:"env,omitempty"`
		Egress []string    `json:"egress,omitempty"`
		catalogManifest
	}{ABI: ABIVersion, Env: m.Env, Egress: m.Egress, catalogManifest: m.catalog()}
	seen := map[string]bool{}
	for _, t := range m.Tools {
		if t.err != nil {
			return nil, t.err
		}
		if seen[t.name] {
			return nil, fmt.Errorf("tool %q is declared twice", t.name)
		}
		seen[t.name] = true
		in, err := t.input()
		if err != nil {
			return nil, err
		}
		outSchema, err := t.output()
		if err != nil {
			return nil, err
		}
		if err := checkTitle(t.name, "title", t.title); err != nil {
			return nil, err
		}
		if t.annotations != nil {
			if err := checkTitle(t.name, "annotations title", t.annotations.Title); err != nil {
				return nil, err
			}
		}
		out.Tools = append(out.Tools, toolEntry{t.name, t.title, t.description, in, outSchema, t.annotations})
	}
	return json.Marshal(out)
}
