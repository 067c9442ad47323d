package mcphost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
	"github.com/kilnhq/kiln/sandbox/manifest"
	"github.com/kilnhq/kiln/sandbox/schemacheck"
)

// ErrServerNotFound: the server does not exist (any more).
var ErrServerNotFound = errors.New("mcphost: server not found")

// DeployError lists the tools of a server that could not be served. The
// server is served with its other tools: one broken tool must not take a
// whole server down, but the caller (the API) should tell its owner.
type DeployError struct {
	ServerID string
	Tools    map[string]error // by tool name
}

func (e *DeployError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mcphost: server %s: %d tool(s) cannot be served:", e.ServerID, len(e.Tools))
	for name, err := range e.Tools {
		fmt.Fprintf(&b, " %s: %v;", name, err)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// state is what the database says about one server: everything a
// deployment is built from, read without loading any module.
type state struct {
	srv    store.Server
	tools  []store.DeployedTool
	env    []store.EnvVar
	sealed map[string][]byte
}

// readState reads a server's rows. ErrServerNotFound if it is gone.
func (h *Host) readState(ctx context.Context, id string) (state, error) {
	srv, err := h.store.ServerByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return state{}, fmt.Errorf("%w: %s", ErrServerNotFound, id)
	}
	if err != nil {
		return state{}, fmt.Errorf("mcphost: %w", err)
	}
	st := state{srv: srv}
	if st.tools, err = h.store.ServerTools(ctx, id); err != nil {
		return state{}, fmt.Errorf("mcphost: %w", err)
	}
	if st.env, err = h.store.ListEnvVars(ctx, id); err != nil {
		return state{}, fmt.Errorf("mcphost: %w", err)
	}
	if st.sealed, err = h.store.EnvValues(ctx, id); err != nil {
		return state{}, fmt.Errorf("mcphost: %w", err)
	}
	return st, nil
}

// fingerprint digests everything a deployment depends on, so a resync can
// tell whether a server changed without rebuilding it. Sealed values change
// whenever a value is set (every seal has a fresh nonce).
func (st state) fingerprint() string {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(strconv.Itoa(len(p))))
			h.Write([]byte{':'})
			h.Write([]byte(p))
		}
	}
	w(st.srv.ID, st.srv.CustomerID, st.srv.Name, st.srv.Description, strconv.FormatInt(st.srv.Version, 10))
	w(st.srv.AllowedHosts...)
	for _, t := range st.tools {
		w("tool", t.Name, strconv.Itoa(t.Version), t.ModuleHash, t.ModuleTool)
	}
	for _, e := range st.env {
		w("env", e.Name, strconv.FormatBool(e.Secret), strconv.FormatBool(e.Required), strings.Join(e.Hosts, ","))
		w(hex.EncodeToString(st.sealed[e.Name]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// deployment is one server as served: an immutable snapshot. A reload
// builds a new one and swaps it in; calls in flight finish on the old one.
type deployment struct {
	srv         store.Server
	fingerprint string
	server      *mcp.Server
	tools       map[string]*tool // by MCP tool name
	// envDecl are the server's env var declarations, by name.
	envDecl map[string]store.EnvVar
	// secretHosts are the parsed hosts each secret may be sent to.
	secretHosts map[string][]egress.Rule
	sealed      map[string][]byte
	// perRequest names the env vars some tool's module lets clients send
	// in X-Kiln-Env-* headers.
	perRequest map[string]bool
	// allow is the server's egress allow list; nil means each module's
	// declared egress hosts.
	allow          []egress.Rule
	recordPayloads bool
	// catalog holds the prompts and resources of the server's modules
	// (catalog.go).
	catalog *catalog
}

// tool is one served tool: which module runs it and its checked schemas.
type tool struct {
	name       string // the MCP name clients call
	moduleTool string // the tool's name inside the module
	module     *sandbox.Module
	decl       manifest.Tool
	output     *schemacheck.Schema // nil without an output schema
}

// build loads every module of st and builds the server's *mcp.Server.
func (h *Host) build(ctx context.Context, st state) (*deployment, error) {
	d := &deployment{
		srv: st.srv, fingerprint: st.fingerprint(), tools: map[string]*tool{},
		envDecl: map[string]store.EnvVar{}, secretHosts: map[string][]egress.Rule{},
		sealed: st.sealed, perRequest: map[string]bool{},
		recordPayloads: h.cfg.RecordPayloads(st.srv),
	}
	for _, e := range st.env {
		d.envDecl[e.Name] = e
		if e.Secret {
			rules, err := egress.ParseRules(e.Hosts)
			if err != nil {
				// The API validates hosts; a bad row makes the secret
				// unusable rather than the server unservable.
				h.log.ErrorContext(ctx, "a secret's hosts do not parse; it will not be sent anywhere", "server", st.srv.ID, "env", e.Name, "error", err)
				continue
			}
			d.secretHosts[e.Name] = rules
		}
	}
	if len(st.srv.AllowedHosts) > 0 {
		rules, err := egress.ParseRules(st.srv.AllowedHosts)
		if err != nil {
			return nil, fmt.Errorf("mcphost: server %s: allowed hosts: %w", st.srv.ID, err)
		}
		d.allow = rules
	}

	loaded, failed, err := h.loadTools(ctx, st)
	if err != nil {
		return nil, err
	}
	var clashes map[string]error
	d.catalog, clashes = newCatalog(loaded)
	for name, err := range clashes {
		failed[name] = err
	}
	d.server = h.newServer(st.srv, d.catalog)
	// Added first, so that they run innermost: the span covers the
	// handler, and the metrics' duration covers the span.
	d.server.AddReceivingMiddleware(limitTools, h.traceOperations(d))
	if h.cfg.Observer != nil {
		d.server.AddReceivingMiddleware(h.observeOperations(d, h.cfg.Observer))
	}
	for _, t := range loaded {
		for _, e := range t.module.Manifest.Env {
			if e.PerRequest {
				d.perRequest[e.Name] = true
			}
		}
		d.tools[t.name] = t
		d.server.AddTool(&mcp.Tool{
			Name:         t.name,
			Title:        t.decl.Title,
			Description:  t.decl.Description,
			InputSchema:  t.decl.InputSchema,
			OutputSchema: rawOrNil(t.decl.OutputSchema),
			Annotations:  toolAnnotations(t.decl.Annotations),
		}, h.toolHandler(d, t))
	}
	h.addCatalog(d)
	if len(failed) > 0 {
		return d, &DeployError{ServerID: st.srv.ID, Tools: failed}
	}
	return d, nil
}

// loadTools loads the module of every tool of st, in st's order; a tool
// that fails is in failed, by name. An error only when ctx ended.
func (h *Host) loadTools(ctx context.Context, st state) ([]*tool, map[string]error, error) {
	var loaded []*tool
	failed := map[string]error{}
	for _, dt := range st.tools {
		t, err := h.loadTool(ctx, dt)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("mcphost: loading server %s: %w", st.srv.ID, ctx.Err())
			}
			failed[dt.Name] = err
			continue
		}
		loaded = append(loaded, t)
	}
	return loaded, failed, nil
}

// newServer makes the server's *mcp.Server, declaring prompts, resources
// and completions only when its modules offer them (cat), and never
// listChanged or subscribe: a stateless server has no stream to announce
// changes on; clients see them on their next list.
func (h *Host) newServer(srv store.Server, cat *catalog) *mcp.Server {
	caps := &mcp.ServerCapabilities{
		Tools:   &mcp.ToolCapabilities{},
		Logging: &mcp.LoggingCapabilities{}, // module log lines reach the client as notifications
	}
	opts := &mcp.ServerOptions{Instructions: srv.Description, Logger: h.sdkLog, Capabilities: caps}
	if len(cat.prompts) > 0 {
		caps.Prompts = &mcp.PromptCapabilities{}
	}
	if len(cat.resources)+len(cat.templates) > 0 {
		caps.Resources = &mcp.ResourceCapabilities{}
	}
	if cat.completes() {
		opts.CompletionHandler = complete
	}
	return mcp.NewServer(&mcp.Implementation{Name: srv.Name, Version: strconv.FormatInt(srv.Version, 10)}, opts)
}

// toolAnnotations serves a manifest's annotations (ABI v2) as MCP's; nil
// when the module declares none, so that tools/list has no annotations
// rather than ones that claim defaults the module never stated.
func toolAnnotations(a *manifest.Annotations) *mcp.ToolAnnotations {
	if a == nil {
		return nil
	}
	return &mcp.ToolAnnotations{
		Title: a.Title, ReadOnlyHint: a.ReadOnlyHint, DestructiveHint: a.DestructiveHint,
		IdempotentHint: a.IdempotentHint, OpenWorldHint: a.OpenWorldHint,
	}
}

// rawOrNil keeps an absent output schema nil: the SDK marshals any non-nil
// value, and an empty RawMessage is not JSON.
func rawOrNil(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

// loadTool loads a tool's module and checks its schemas. AddTool panics on
// an input schema that is not an object, so nothing reaches it unchecked.
func (h *Host) loadTool(ctx context.Context, dt store.DeployedTool) (*tool, error) {
	mod, err := h.modules.load(ctx, h, dt.ModuleHash)
	if err != nil {
		return nil, err
	}
	decl, ok := mod.Manifest.Tool(dt.ModuleTool)
	if !ok {
		return nil, fmt.Errorf("module %s has no tool %q", shortHash(dt.ModuleHash), dt.ModuleTool)
	}
	t := &tool{name: dt.Name, moduleTool: dt.ModuleTool, module: mod, decl: decl}
	// The sandbox checks each call's arguments against the input schema;
	// resolving it here only refuses a tool whose schema cannot be checked.
	if _, err = schemacheck.ResolveObject(decl.InputSchema); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	if len(decl.OutputSchema) > 0 {
		if t.output, err = schemacheck.ResolveObject(decl.OutputSchema); err != nil {
			return nil, fmt.Errorf("output schema: %w", err)
		}
	}
	return t, nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// moduleCache keeps loaded modules by hash, so servers sharing a module (a
// library tool) load it once, and a reload that changes one tool does not
// reload the others. wazero's compiled code lives in the engine's LRU; this
// holds the validated handles.
type moduleCache struct {
	mu      sync.Mutex
	modules map[string]*moduleEntry
}

type moduleEntry struct {
	done chan struct{} // closed when mod/err are set
	mod  *sandbox.Module
	err  error
}

// moduleLoadTimeout bounds reading and compiling one module; a large Go
// module compiles in about a second.
const moduleLoadTimeout = 2 * time.Minute

func newModuleCache() *moduleCache { return &moduleCache{modules: map[string]*moduleEntry{}} }

// load returns the module with the given hash, reading and compiling it
// once however many callers ask at the same time.
func (c *moduleCache) load(ctx context.Context, h *Host, hash string) (*sandbox.Module, error) {
	c.mu.Lock()
	e, ok := c.modules[hash]
	if !ok {
		e = &moduleEntry{done: make(chan struct{})}
		c.modules[hash] = e
		c.mu.Unlock()
		// Others may be waiting for this load: it must not fail because
		// the request that started it went away.
		loadCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moduleLoadTimeout)
		e.mod, e.err = h.loadModule(loadCtx, hash)
		cancel()
		if e.err != nil {
			// Do not remember failures: the next deploy tries again (the
			// cause may have been a canceled context or a busy database).
			c.mu.Lock()
			delete(c.modules, hash)
			c.mu.Unlock()
		}
		close(e.done)
		return e.mod, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.mod, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// retain drops modules no deployment uses any more.
func (c *moduleCache) retain(used map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for hash, e := range c.modules {
		select {
		case <-e.done:
			if !used[hash] {
				delete(c.modules, hash)
			}
		default: // still loading for someone
		}
	}
}

// loadModule reads a module's bytes and loads it in the sandbox, which
// instruments and compiles it (from its on-disk caches when it can).
func (h *Host) loadModule(ctx context.Context, hash string) (*sandbox.Module, error) {
	data, err := h.store.ModuleData(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", shortHash(hash), err)
	}
	mod, err := h.engine.Load(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", shortHash(hash), err)
	}
	return mod, nil
}
