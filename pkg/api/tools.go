package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

type libraryRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// createToolRequest adds one MCP tool to a server, from Go source (Files)
// or from a library module (Library). Tool picks the module's tool when it
// offers several; Name is the tool's name on the server (default: Tool).
type createToolRequest struct {
	Name    string            `json:"name"`
	Tool    string            `json:"tool"`
	Files   map[string]string `json:"files"`
	Library *libraryRef       `json:"library"`
}

// newTool is what createTool stores, whichever way the module came.
type newTool struct {
	man     *manifest.Manifest
	version store.ToolVersion
}

func (s *Server) createTool(c echo.Context) error {
	var req createToolRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if (req.Files == nil) == (req.Library == nil) {
		return badRequest("give either files (Go source, by file name) or library (a library module's name and version)")
	}
	if req.Name != "" {
		if err := checkToolName("name", req.Name); err != nil {
			return err
		}
	}
	if req.Tool != "" {
		if err := checkToolName("tool", req.Tool); err != nil {
			return err
		}
	}
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	plan, err := s.catalog.ForCustomer(ctx, srv.CustomerID)
	if err != nil {
		return err
	}
	// Refuse early what the store would refuse after an expensive build.
	// The store's check, under a lock, is the one that counts.
	n, err := s.store.CountTools(ctx, srv.ID)
	if err != nil {
		return err
	}
	if err := tier.CheckTools(plan, n); err != nil {
		return err // a *tier.LimitError: a 403 naming the limit
	}
	if req.Name != "" {
		if err := s.toolNameFree(ctx, srv.ID, req.Name); err != nil {
			return err
		}
	}

	var nt newTool
	if req.Library != nil {
		nt, err = s.toolFromLibrary(ctx, plan, *req.Library)
	} else {
		nt, err = s.toolFromSource(c, srv, req.Files)
	}
	if err != nil {
		return err
	}
	if nt.version.ModuleTool, err = pickTool(nt.man, req.Tool); err != nil {
		return err
	}
	name := req.Name
	if name == "" {
		name = nt.version.ModuleTool
	}
	nt.version.CreatedBy = actor(c)
	tool := store.Tool{ServerID: srv.ID, Name: name}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.CreateTool(ctx, &tool, &nt.version, func(n int) error { return tier.CheckTools(plan, n) }); err != nil {
			return err
		}
		if err := tx.CheckCatalog(ctx, srv.ID); err != nil {
			return err
		}
		details := map[string]any{"server": srv.ID, "name": tool.Name, "module_hash": nt.version.ModuleHash, "source": nt.version.Source}
		if nt.version.LibraryName != nil {
			details["library"] = *nt.version.LibraryName + "@" + *nt.version.LibraryVersion
		}
		return s.audit(c, tx, srv.CustomerID, actionToolCreate, tool.ID, details)
	})
	var le *tier.LimitError
	var clash *manifest.ClashError
	switch {
	case errors.As(err, &le):
		return limitExceeded(le)
	case errors.As(err, &clash):
		return conflict("server %s cannot serve this tool: %v; a server's prompts and resources are the union of its modules', so each prompt name, resource URI and template must be declared by one module only", srv.ID, clash)
	case errors.Is(err, store.ErrConflict):
		return conflict("server %s has a tool named %q; choose another name with \"name\"", srv.ID, name)
	case errors.Is(err, store.ErrNotFound):
		return notFound("there is no server %s", srv.ID)
	case err != nil:
		return err
	}
	s.redeploy(c, srv.ID)
	return c.JSON(http.StatusCreated, viewTool(tool, nt.version))
}

func (s *Server) toolNameFree(ctx context.Context, serverID, name string) error {
	_, err := s.store.ToolByName(ctx, serverID, name)
	switch {
	case err == nil:
		return conflict("server %s has a tool named %q; choose another name with \"name\"", serverID, name)
	case errors.Is(err, store.ErrNotFound):
		return nil
	}
	return err
}

// toolFromLibrary takes a library module the plan allows.
func (s *Server) toolFromLibrary(ctx context.Context, plan tier.Plan, ref libraryRef) (newTool, error) {
	lib, err := s.resolveLibrary(ctx, ref.Name, ref.Version)
	if err != nil {
		return newTool{}, err
	}
	if refusal, err := s.libraryAllowed(ctx, plan, lib); err != nil {
		return newTool{}, err
	} else if refusal != nil {
		return newTool{}, refusal
	}
	m, err := s.store.Module(ctx, lib.ModuleHash)
	if err != nil {
		return newTool{}, err
	}
	man, err := storedManifest(m)
	if err != nil {
		return newTool{}, err
	}
	return newTool{man: man, version: store.ToolVersion{
		ModuleHash: lib.ModuleHash, Source: store.SourceLibrary, LibraryName: &lib.Name, LibraryVersion: &lib.Version,
	}}, nil
}

// toolFromSource validates, builds, loads and stores Go source.
func (s *Server) toolFromSource(c echo.Context, srv store.Server, files map[string]string) (newTool, error) {
	src := make(map[string][]byte, len(files))
	for name, text := range files {
		// build.Validate reports bad names with positions, but lets
		// control characters through to the file system, where writing
		// the file fails as an internal error.
		if err := checkParam("file name", name); err != nil {
			return newTool{}, unprocessable("the source was refused: file name %q is not a plain .go file name", name)
		}
		src[name] = []byte(text)
	}
	ctx := c.Request().Context()
	// Every plan gets the default policy for now: tier.Plan has no list of
	// curated packages yet. When it does, derive the policy from the plan.
	art, err := s.builds.Build(ctx, srv.CustomerID, build.DefaultPolicy(), src)
	if err != nil {
		err = buildError(err)
		s.auditBuildFailure(c, srv, err)
		return newTool{}, err
	}
	mod, row, err := s.loadModule(ctx, art.Wasm)
	if err != nil {
		s.auditBuildFailure(c, srv, err)
		return newTool{}, err
	}
	// The build and the compile are behind us: storing the module and the
	// build's audit record (with its source key) is quick.
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.PutModule(ctx, &row, art.Wasm); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, store.ActionModuleBuild, row.Hash, map[string]any{
			"server": srv.ID, "source_key": art.SourceKey, "size": row.Size,
		})
	})
	if err != nil {
		return newTool{}, err
	}
	// The source is kept as the JSON object it arrived as: a tool may have
	// several files.
	code, err := json.Marshal(files)
	if err != nil {
		return newTool{}, fmt.Errorf("api: encode source: %w", err)
	}
	text := string(code)
	return newTool{man: mod.Manifest, version: store.ToolVersion{ModuleHash: row.Hash, Source: store.SourceGo, SourceCode: &text}}, nil
}

// maxAuditSummary bounds the error summary of a failed build's audit
// record: enough for the first line of a compiler message, not a log.
const maxAuditSummary = 300

// auditBuildFailure records a failed build of source for srv, with the
// answer's status and a summary of why (the first line of the compiler's
// output when there is one). Failures of Kiln itself are summarized as such:
// their causes go to the server log, not the audit log.
func (s *Server) auditBuildFailure(c echo.Context, srv store.Server, err error) {
	details := map[string]any{"server": srv.ID, "status": http.StatusInternalServerError, "error": "internal error"}
	if e, ok := errors.AsType[*Error](err); ok {
		details["status"], details["error"] = e.Status, truncate(e.Message, maxAuditSummary)
		if out, ok := e.Fields["output"].(string); ok {
			details["output"] = truncate(firstMessage(out), maxAuditSummary)
		}
	}
	s.auditAlone(c, srv.CustomerID, actionBuildFail, srv.ID, details)
}

// firstMessage is the first line of compiler output that is not a
// "# package" heading.
func firstMessage(output string) string {
	for line := range strings.Lines(output) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// buildError maps a failed build to its answer. Problems of the source are
// 422s carrying what the author needs to fix it: the validator's problems
// with positions, or the compiler's output.
func buildError(err error) error {
	var (
		invalid  *build.ValidationError
		compile  *build.Error
		source   *build.SourceError
		badMan   *manifest.Error
		badWasm  *sandbox.BadModuleError
		limitErr *tier.LimitError
		describe *build.DescribeError
	)
	switch {
	case errors.As(err, &invalid):
		return &Error{
			Status:  http.StatusUnprocessableEntity,
			Message: fmt.Sprintf("the source was refused: %s; see problems", plural(len(invalid.Problems), "problem")),
			Fields:  map[string]any{"problems": invalid.Problems},
		}
	case errors.As(err, &compile):
		return &Error{
			Status:  http.StatusUnprocessableEntity,
			Message: "the source does not compile; see output",
			Fields:  map[string]any{"output": compile.Output},
		}
	case errors.As(err, &source):
		return unprocessable("the source was refused: %s", source.Reason)
	case errors.As(err, &describe): // before badWasm, which it may wrap
		return unprocessable("the built module failed when asked to describe its tools: %s",
			strings.TrimPrefix(describe.Error(), "build: "))
	case errors.As(err, &badMan):
		return unprocessable("the tool's manifest is invalid: %s", badMan.Reason)
	case errors.As(err, &badWasm):
		return unprocessable("the built module was refused (does main call kiln.Run?): %v", badWasm.Err)
	case errors.As(err, &limitErr):
		return limitExceeded(limitErr)
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, "the build did not finish in time")
	}
	return err
}

func (s *Server) listTools(c echo.Context) error {
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	tools, err := s.store.ListTools(ctx, srv.ID)
	if err != nil {
		return err
	}
	out := list[toolView]{Items: make([]toolView, 0, len(tools))}
	for _, t := range tools {
		v, err := s.store.ToolVersion(ctx, t.ID, t.CurrentVersion)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, viewTool(t, v))
	}
	return c.JSON(http.StatusOK, out)
}

// tool reads the :tool of the path on the caller's server.
func (s *Server) tool(c echo.Context) (store.Server, store.Tool, error) {
	srv, err := s.server(c)
	if err != nil {
		return srv, store.Tool{}, err
	}
	id := c.Param("tool")
	t, err := s.store.Tool(c.Request().Context(), srv.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return srv, t, notFound("server %s has no tool %s", srv.ID, id)
	}
	return srv, t, err
}

func (s *Server) getTool(c echo.Context) error {
	_, t, err := s.tool(c)
	if err != nil {
		return err
	}
	versions, err := s.store.ListToolVersions(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	var current store.ToolVersion
	views := make([]toolVersionView, 0, len(versions))
	for _, v := range versions {
		if v.Version == t.CurrentVersion {
			current = v
		}
		views = append(views, viewToolVersion(v))
	}
	out := viewTool(t, current)
	out.Versions = views
	return c.JSON(http.StatusOK, out)
}

func (s *Server) deleteTool(c echo.Context) error {
	srv, t, err := s.tool(c)
	if err != nil {
		return err
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.DeleteTool(c.Request().Context(), srv.ID, t.ID); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, actionToolDelete, t.ID, map[string]any{"server": srv.ID, "name": t.Name})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("server %s has no tool %s", srv.ID, t.ID)
		}
		return err
	}
	s.redeploy(c, srv.ID)
	return c.NoContent(http.StatusNoContent)
}
