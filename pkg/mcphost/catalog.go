package mcphost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/yosida95/uritemplate/v3"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// A server's prompts, resources and resource templates are the union of
// those its modules declare (ABI v2, toolkits/ABI.md section 2.1). A module
// contributes them when at least one of its tools is deployed on the
// server; two modules declaring the same prompt name, resource URI or
// template are refused by the API before a deploy commits
// (manifest.Catalog, the same check), and should a server hold such a pair
// anyway (two deploys racing on an old node), the first module in tool
// order keeps the name and the other's tool is reported in DeployError.
//
// Authorization: prompts and resources belong to their module, and a
// caller limited to some tools (a key's tool list, a token's mcp:tool:
// scopes) reaches a module's prompts and resources only when it may call
// every tool the server serves from that module. A dynamic prompt or
// resource runs the module's code with the module's env, secrets and
// network, as its tools do; a caller allowed all of them could run that
// code anyway. What a caller may not reach is left out of the lists and
// answered as unknown, as tools are (toolaccess.go).
//
// Subscriptions: a stateless server keeps no stream to send
// notifications/resources/updated on, so the server declares resources
// without subscribe (or listChanged). Before 2026-07-28, resources/subscribe
// and unsubscribe are answered -32601 (method not found: the SDK, which has
// no subscribe handler); on 2026-07-28 a subscriptions/listen naming
// resources is acknowledged with no resource subscriptions agreed, as the
// protocol has a server do for what it does not offer. Clients read the
// resource again to see changes.

// catalog is one deployment's prompts, resources and templates.
type catalog struct {
	prompts   []*servedPrompt
	resources []*servedResource
	templates []*servedTemplate
	// owners: the server's tool names of each module, by module hash.
	owners map[string][]string
}

// servedItem is what every prompt, resource and template has: its module,
// run through the reserved entry, and the server tools that module serves.
type servedItem struct {
	module *sandbox.Module
	tools  []string // the server's tools from the module
}

type servedPrompt struct {
	servedItem
	decl manifest.Prompt
}

type servedResource struct {
	servedItem
	decl manifest.Resource
	blob []byte // a static blob, decoded
}

type servedTemplate struct {
	servedItem
	decl manifest.ResourceTemplate
	tmpl *uritemplate.Template
}

// newCatalog collects the prompts and resources of the modules of tools.
// A module whose declarations clash with an earlier module's contributes
// none, and its first tool is in clashes with the reason.
func newCatalog(tools []*tool) (*catalog, map[string]error) {
	c := &catalog{owners: map[string][]string{}}
	var order []*tool // the first tool of each module
	for _, t := range tools {
		if _, ok := c.owners[t.module.Hash]; !ok {
			order = append(order, t)
		}
		c.owners[t.module.Hash] = append(c.owners[t.module.Hash], t.name)
	}
	union := manifest.NewCatalog()
	clashes := map[string]error{}
	for _, t := range order {
		if err := union.Add(fmt.Sprintf("the module of tool %q", t.name), t.module.Manifest); err != nil {
			clashes[t.name] = fmt.Errorf("the module's prompts and resources are not served: %w", err)
			continue
		}
		if err := c.add(t.module, c.owners[t.module.Hash]); err != nil {
			clashes[t.name] = err
		}
	}
	return c, clashes
}

// add adds one module's declarations. The manifest package validated them;
// what is checked again here is what the SDK would panic on.
func (c *catalog) add(mod *sandbox.Module, tools []string) error {
	item := servedItem{module: mod, tools: tools}
	man := mod.Manifest
	for _, p := range man.Prompts {
		c.prompts = append(c.prompts, &servedPrompt{item, p})
	}
	for _, r := range man.Resources {
		sr := &servedResource{servedItem: item, decl: r}
		if r.Blob != "" {
			var err error
			if sr.blob, err = base64.StdEncoding.DecodeString(r.Blob); err != nil {
				return fmt.Errorf("resource %q: %w", r.URI, err)
			}
		}
		c.resources = append(c.resources, sr)
	}
	for _, t := range man.ResourceTemplates {
		tmpl, err := uritemplate.New(t.URITemplate)
		if err != nil {
			return fmt.Errorf("resource template %q: %w", t.URITemplate, err)
		}
		c.templates = append(c.templates, &servedTemplate{item, t, tmpl})
	}
	return nil
}

// completes reports whether some prompt argument or template variable
// offers values to complete.
func (c *catalog) completes() bool {
	for _, p := range c.prompts {
		for _, a := range p.decl.Arguments {
			if len(a.Values) > 0 {
				return true
			}
		}
	}
	for _, t := range c.templates {
		if len(t.decl.Values) > 0 {
			return true
		}
	}
	return false
}

// addCatalog registers d's prompts, resources and templates with its
// server.
func (h *Host) addCatalog(d *deployment) {
	for _, p := range d.catalog.prompts {
		args := make([]*mcp.PromptArgument, len(p.decl.Arguments))
		for i, a := range p.decl.Arguments {
			args[i] = &mcp.PromptArgument{Name: a.Name, Title: a.Title, Description: a.Description, Required: a.Required}
		}
		d.server.AddPrompt(&mcp.Prompt{Name: p.decl.Name, Title: p.decl.Title, Description: p.decl.Description, Arguments: args},
			h.promptHandler(d, p))
	}
	for _, r := range d.catalog.resources {
		res := &mcp.Resource{URI: r.decl.URI, Name: r.decl.Name, Title: r.decl.Title, Description: r.decl.Description, MIMEType: r.decl.MIMEType}
		if r.decl.Text != nil {
			res.Size = int64(len(*r.decl.Text))
		} else if r.blob != nil {
			res.Size = int64(len(r.blob))
		}
		d.server.AddResource(res, h.resourceHandler(d, r))
	}
	for _, t := range d.catalog.templates {
		d.server.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: t.decl.URITemplate, Name: t.decl.Name, Title: t.decl.Title,
			Description: t.decl.Description, MIMEType: t.decl.MIMEType}, h.templateHandler(d, t))
	}
}

// reach returns the call's request if its caller may use item.
func reach(ctx context.Context, d *deployment, item servedItem) (*request, bool) {
	r, ok := requestFrom(ctx)
	if !ok || r.d != d {
		return nil, false
	}
	return r, r.allowsAll(item.tools)
}

// allowsAll reports whether the caller may call every one of tools.
func (r *request) allowsAll(tools []string) bool {
	for _, t := range tools {
		if !r.allows(t) {
			return false
		}
	}
	return true
}

func unknownPrompt(name string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown prompt %q", name)}
}

func (h *Host) promptHandler(d *deployment, p *servedPrompt) mcp.PromptHandler {
	return func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		r, ok := reach(ctx, d, p.servedItem)
		if !ok {
			return nil, unknownPrompt(p.decl.Name)
		}
		args := req.Params.Arguments
		for _, a := range p.decl.Arguments {
			if _, given := args[a.Name]; a.Required && !given {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
					Message: fmt.Sprintf("prompt %q needs the argument %q", p.decl.Name, a.Name)}
			}
		}
		var doc json.RawMessage
		if p.decl.Dynamic {
			input := map[string]any{"name": p.decl.Name, "arguments": args}
			c := entryInput(req, "prompt "+strconv.Quote(p.decl.Name), "prompt:"+p.decl.Name, req.Params.InputResponses, req.Params.RequestState)
			out, err := h.runEntry(ctx, r, p.servedItem, manifest.PromptEntry, c, input)
			if err != nil {
				return nil, err
			}
			if out.inputs != nil {
				return &mcp.GetPromptResult{InputRequests: out.inputs, RequestState: out.state}, nil
			}
			doc = out.doc
		} else {
			doc = staticPrompt(p.decl, args)
		}
		var out mcp.GetPromptResult
		if err := json.Unmarshal(doc, &out); err != nil {
			return nil, fmt.Errorf("prompt %q: the module's messages cannot be passed on: %w", p.decl.Name, err)
		}
		return &out, nil
	}
}

// staticPrompt is the GetPromptResult of a static prompt: its messages with
// the arguments filled into the text items.
func staticPrompt(p manifest.Prompt, args map[string]string) json.RawMessage {
	msgs := make([]map[string]any, 0, len(p.Messages))
	for _, m := range p.Messages {
		var content map[string]any
		_ = json.Unmarshal(m.Content, &content) // checked by manifest.Parse
		if text, ok := content["text"].(string); ok && content["type"] == "text" {
			content["text"] = manifest.Fill(text, args)
		}
		msgs = append(msgs, map[string]any{"role": m.Role, "content": content})
	}
	doc, _ := json.Marshal(map[string]any{"description": p.Description, "messages": msgs})
	return doc
}

func (h *Host) resourceHandler(d *deployment, res *servedResource) mcp.ResourceHandler {
	return func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		r, ok := reach(ctx, d, res.servedItem)
		if !ok {
			return nil, mcp.ResourceNotFoundError(req.Params.URI)
		}
		decl := res.decl
		switch {
		case decl.Text != nil:
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: decl.URI, MIMEType: decl.MIMEType, Text: *decl.Text}}}, nil
		case res.blob != nil:
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: decl.URI, MIMEType: decl.MIMEType, Blob: res.blob}}}, nil
		}
		c := entryInput(req, "resource "+strconv.Quote(decl.URI), "resource:"+decl.URI, req.Params.InputResponses, req.Params.RequestState)
		out, err := h.runEntry(ctx, r, res.servedItem, manifest.ResourceEntry, c, map[string]any{"uri": decl.URI})
		if err != nil {
			return nil, err
		}
		if out.inputs != nil {
			return &mcp.ReadResourceResult{InputRequests: out.inputs, RequestState: out.state}, nil
		}
		return readResult(out.doc, decl.URI)
	}
}

func (h *Host) templateHandler(d *deployment, t *servedTemplate) mcp.ResourceHandler {
	return func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		r, ok := reach(ctx, d, t.servedItem)
		uri := req.Params.URI
		match := t.tmpl.Match(uri)
		if !ok || match == nil {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		vars := map[string]string{}
		for _, name := range t.tmpl.Varnames() {
			vars[name] = match.Get(name).String()
		}
		input := map[string]any{"uri": uri, "uriTemplate": t.decl.URITemplate, "variables": vars}
		c := entryInput(req, "resource "+strconv.Quote(uri), "resource:"+t.decl.URITemplate, req.Params.InputResponses, req.Params.RequestState)
		out, err := h.runEntry(ctx, r, t.servedItem, manifest.ResourceEntry, c, input)
		if err != nil {
			return nil, err
		}
		if out.inputs != nil {
			return &mcp.ReadResourceResult{InputRequests: out.inputs, RequestState: out.state}, nil
		}
		return readResult(out.doc, uri)
	}
}

// readResult decodes a module's ReadResourceResult.
func readResult(doc json.RawMessage, uri string) (*mcp.ReadResourceResult, error) {
	var out mcp.ReadResourceResult
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("resource %q: the module's contents cannot be passed on: %w", uri, err)
	}
	return &out, nil
}

// entryInput is the inputCall of a prompts/get or resources/read (its
// arguments are added by runEntry).
func entryInput(req inputClient, what, label string, responses mcp.InputResponseMap, state string) inputCall {
	return inputCall{what: what, label: label, responses: responses, state: state, client: req}
}

// entryResult is what a dynamic prompt or resource answered: its document,
// or requests for input (inputs non-nil) with the round's state.
type entryResult struct {
	doc    json.RawMessage
	inputs mcp.InputRequestMap
	state  string
}

// runEntry runs a dynamic prompt or resource in the sandbox, as a tool
// call runs (the plan's limits, the server's env and network, its requests
// for input, one row in the execution log under c.label), and returns the
// module's answer. What keeps it from an answer is a JSON-RPC error with a
// sentence: the limit the call met, or the module's own error.
func (h *Host) runEntry(ctx context.Context, r *request, item servedItem, entry string, c inputCall, input any) (entryResult, error) {
	label := c.label
	ctx, done := h.cancellable(ctx, r)
	defer done()
	exec := store.Execution{
		CustomerID: r.d.srv.CustomerID, ServerID: r.d.srv.ID, ToolName: label,
		ModuleHash: item.module.Hash, Actor: "key:" + r.keyID, StartedAt: h.store.Now(),
	}
	record := true // a call the sandbox had no room for is not an execution
	defer func() {
		if record {
			h.record(&exec)
		}
	}()
	args, err := json.Marshal(input)
	if err != nil {
		return entryResult{}, fmt.Errorf("mcphost: encoding the input of %s: %w", label, err)
	}
	if r.d.recordPayloads {
		exec.Arguments = store.JSON(args)
	}
	c.args = args
	ans, err := h.openInputs(r, c)
	if err != nil {
		record = false // a requestState refused: not an execution, as for tools
		return entryResult{}, err
	}
	t := &tool{name: label, moduleTool: entry, module: item.module}
	res, err := h.execute(ctx, r, t, args, ans, nil, &exec)
	var missing *missingEnvError
	if errors.As(err, &missing) {
		exec.Outcome, exec.Detail = sandbox.OutcomeToolError.String(), missing.message(label)
		return entryResult{}, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: exec.Detail}
	}
	var busy *sandbox.BusyError
	if errors.As(err, &busy) {
		record = false
		return entryResult{}, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: h.refusal(r, busy)}
	}
	if err != nil {
		h.log.ErrorContext(ctx, "prompt or resource failed in the host", "server", r.d.srv.ID, "entry", label, "error", err)
		exec.Outcome = "host_error"
		return entryResult{}, fmt.Errorf("the Kiln host could not serve %s; the failure is logged", label)
	}
	return h.entryAnswer(r, c, res, ans, &exec)
}

// entryAnswer reads a dynamic prompt's or resource's sandbox result: its
// document, its requests for input (the round of a tool call, inputRound;
// a refusal is a JSON-RPC error here, there being no tool error), or the
// JSON-RPC error of its failure.
func (h *Host) entryAnswer(r *request, c inputCall, res sandbox.Result, ans *answers, exec *store.Execution) (entryResult, error) {
	if res.Outcome == sandbox.OutcomeInputRequired {
		reqs, token, refusal, err := h.inputRound(r, c, res.Input, ans)
		if refusal != "" {
			err = &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: refusal}
		}
		if err != nil {
			exec.Detail = err.Error()
			return entryResult{}, err
		}
		return entryResult{inputs: reqs, state: token}, nil
	}
	if msg := outcomeMessage(res, c.label, r.plan); msg != "" {
		return entryResult{}, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
	}
	if res.Answer.IsError {
		return entryResult{}, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: res.Answer.Text}
	}
	if r.d.recordPayloads {
		exec.Result = store.JSON(res.Answer.Document)
	}
	return entryResult{doc: res.Answer.Document}, nil
}

// complete answers completion/complete from the values prompt arguments
// and template variables declare: those starting with what the client
// typed, at most 100 (MCP's cap, and manifest.MaxValues), for a caller
// that may reach the prompt or template.
func complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	// go-sdk checks these unless MCPGODEBUG turns its checks off.
	if req.Params == nil || req.Params.Ref == nil {
		return nil, invalidParams("completion/complete needs params with a ref")
	}
	r, ok := requestFrom(ctx)
	if !ok {
		return nil, errors.New("mcphost: completion without its request context")
	}
	values, err := r.d.catalog.values(req.Params.Ref, req.Params.Argument.Name)
	if err != nil {
		return nil, err
	}
	if values.tools != nil && !r.allowsAll(values.tools) {
		return nil, refNotFound(req.Params.Ref)
	}
	out := []string{}
	for _, v := range values.list {
		if strings.HasPrefix(v, req.Params.Argument.Value) {
			out = append(out, v)
		}
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: out, Total: len(out)}}, nil
}

type completionValues struct {
	list  []string
	tools []string
}

// values finds the values a prompt argument or template variable offers:
// none for one that declares none; an error for an unknown prompt or
// template.
func (c *catalog) values(ref *mcp.CompleteReference, arg string) (completionValues, error) {
	switch ref.Type {
	case "ref/prompt":
		for _, p := range c.prompts {
			if p.decl.Name != ref.Name {
				continue
			}
			for _, a := range p.decl.Arguments {
				if a.Name == arg {
					return completionValues{a.Values, p.tools}, nil
				}
			}
			return completionValues{tools: p.tools}, nil
		}
	case "ref/resource":
		for _, t := range c.templates {
			if t.decl.URITemplate == ref.URI {
				return completionValues{t.decl.Values[arg], t.tools}, nil
			}
		}
	}
	return completionValues{}, refNotFound(ref)
}

func refNotFound(ref *mcp.CompleteReference) error {
	what := ref.Name
	if ref.Type == "ref/resource" {
		what = ref.URI
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("%s: no prompt or resource template %q on this server", ref.Type, what)}
}

// filterCatalog keeps, in a list result, what the caller may reach.
func filterCatalog(r *request, res mcp.Result) {
	c := r.d.catalog
	switch list := res.(type) {
	case *mcp.ListPromptsResult:
		list.Prompts = slices.DeleteFunc(list.Prompts, func(p *mcp.Prompt) bool {
			i := slices.IndexFunc(c.prompts, func(s *servedPrompt) bool { return s.decl.Name == p.Name })
			return i < 0 || !r.allowsAll(c.prompts[i].tools)
		})
	case *mcp.ListResourcesResult:
		list.Resources = slices.DeleteFunc(list.Resources, func(x *mcp.Resource) bool {
			i := slices.IndexFunc(c.resources, func(s *servedResource) bool { return s.decl.URI == x.URI })
			return i < 0 || !r.allowsAll(c.resources[i].tools)
		})
	case *mcp.ListResourceTemplatesResult:
		list.ResourceTemplates = slices.DeleteFunc(list.ResourceTemplates, func(x *mcp.ResourceTemplate) bool {
			i := slices.IndexFunc(c.templates, func(s *servedTemplate) bool { return s.decl.URITemplate == x.URITemplate })
			return i < 0 || !r.allowsAll(c.templates[i].tools)
		})
	}
}
