package service

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// logCallPackages are the packages that log while serving requests. Every
// line they log with a request's context in scope must be logged with it,
// or it loses the request id the log handler adds (requestIDHandler).
var logCallPackages = []string{
	"github.com/kilnhq/kiln/pkg/mcphost",
	"github.com/kilnhq/kiln/pkg/oauth",
	"github.com/kilnhq/kiln/pkg/api",
	"github.com/kilnhq/kiln/pkg/web",
	"github.com/kilnhq/kiln/pkg/wizard",
	"github.com/kilnhq/kiln/pkg/websession",
	"github.com/kilnhq/kiln/pkg/apikey",
}

// TestLogCallsCarryContext fails on a call of slog's Debug, Info, Warn or
// Error (a *slog.Logger's or the package's) where a context.Context, an
// *http.Request, an echo.Context or a struct holding one is in scope: that
// line must be logged with DebugContext... and that context instead. The
// packages are type-checked from their source against the compiler's
// export data of their imports (go list -export), so a logger is known by
// its type, whatever it is named.
func TestLogCallsCarryContext(t *testing.T) {
	pkgs := goListExport(t, logCallPackages)
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
	t.Run("checker", func(t *testing.T) { checkLogCallFixture(t, fset, imp) })
	checked := 0
	for _, p := range pkgs {
		if p.DepOnly {
			continue
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parsing %s: %v", name, err)
			}
			files = append(files, f)
		}
		found, err := contextFreeLogCalls(fset, mappedImporter{imp, p.ImportMap}, p.ImportPath, files)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			t.Error(f.msg)
		}
		checked++
	}
	if checked != len(logCallPackages) {
		t.Fatalf("checked %d packages, want %d", checked, len(logCallPackages))
	}
}

// logCallFixture has one call the checker must report on each line whose
// message starts with "flagged", and none elsewhere.
const logCallFixture = `package fixture

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

type holder struct{ ctx context.Context }

func param(ctx context.Context, l *slog.Logger)  { l.Error("flagged: a context parameter") }
func request(r *http.Request, l *slog.Logger)    { l.Warn("flagged: a request parameter") }
func echoParam(c echo.Context, l *slog.Logger)   { l.Info("flagged: an echo.Context parameter") }
func closure(ctx context.Context, l *slog.Logger) { go func() { l.Debug("flagged: a captured context") }() }
func pkgFunc(ctx context.Context)                { slog.Error("flagged: slog's package function") }
func field(h *holder, l *slog.Logger)            { l.Error("flagged: a struct holding a context") }
func local(l *slog.Logger)                       { ctx := context.Background(); l.Warn("flagged: a local context"); _ = ctx }
func none(l *slog.Logger)                        { l.Error("kept: no context in scope") }
func later(l *slog.Logger)                       { l.Error("kept: declared after"); ctx := context.Background(); _ = ctx }
func withContext(ctx context.Context, l *slog.Logger) { l.ErrorContext(ctx, "kept: the context form") }
`

// checkLogCallFixture checks the checker itself on logCallFixture.
func checkLogCallFixture(t *testing.T, fset *token.FileSet, imp types.Importer) {
	f, err := parser.ParseFile(fset, "fixture.go", logCallFixture, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	found, err := contextFreeLogCalls(fset, imp, "fixture", []*ast.File{f})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for _, f := range found {
		got[f.pos.Line] = true
	}
	for i, line := range strings.Split(logCallFixture, "\n") {
		if want := strings.Contains(line, `"flagged`); got[i+1] != want {
			t.Errorf("fixture line %d: reported %v, want %v: %s", i+1, got[i+1], want, line)
		}
	}
}

type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	ImportMap  map[string]string
	DepOnly    bool
}

// goListExport lists patterns and their dependencies with export data.
func goListExport(t *testing.T, patterns []string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export,ImportMap,DepOnly"}, patterns...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(strings.NewReader(string(out))); dec.More(); {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

type logCallFinding struct {
	pos token.Position
	msg string
}

// contextFreeLogCalls type-checks the files of package path and returns
// its context-free log calls with a context in scope.
func contextFreeLogCalls(fset *token.FileSet, imp types.Importer, path string, files []*ast.File) ([]logCallFinding, error) {
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Scopes: map[ast.Node]*types.Scope{}}
	pkg, err := (&types.Config{Importer: imp}).Check(path, fset, files, info)
	if err != nil {
		return nil, fmt.Errorf("type-checking %s: %w", path, err)
	}
	var found []logCallFinding
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !isContextFreeLog(info.Uses[sel.Sel]) {
				return true
			}
			if v := requestContextInScope(pkg.Scope().Innermost(call.Pos()), call.Pos()); v != nil {
				pos := fset.Position(call.Pos())
				found = append(found, logCallFinding{pos, fmt.Sprintf("%s: %s.%s without a context, but %s (%s) is in scope: use %sContext",
					pos, types.ExprString(sel.X), sel.Sel.Name, v.Name(), v.Type(), sel.Sel.Name)})
			}
			return true
		})
	}
	return found, nil
}

// isContextFreeLog reports whether obj is slog's Logger.Debug/Info/Warn/Error
// or the package function of that name.
func isContextFreeLog(obj types.Object) bool {
	fn, ok := obj.(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != "log/slog" {
		return false
	}
	switch fn.Name() {
	case "Debug", "Info", "Warn", "Error":
	default:
		return false
	}
	recv := fn.Signature().Recv()
	return recv == nil || isNamed(recv.Type(), "log/slog", "Logger")
}

// requestContextInScope returns a variable declared before pos in scope or
// an enclosing one (parameters of the function and of functions around a
// closure, and locals) that is of a request's type (a context, an
// *http.Request or an echo.Context) or a struct holding one in a field
// (mcphost's *request and its httpCtx).
func requestContextInScope(scope *types.Scope, pos token.Pos) *types.Var {
	for ; scope != nil && scope.Parent() != types.Universe; scope = scope.Parent() {
		for _, name := range scope.Names() {
			v, ok := scope.Lookup(name).(*types.Var)
			if ok && v.Pos() < pos && (isRequestType(v.Type()) || holdsRequest(v.Type())) {
				return v
			}
		}
	}
	return nil
}

func isRequestType(t types.Type) bool {
	return isNamed(t, "context", "Context") || isNamed(t, "net/http", "Request") ||
		isNamed(t, "github.com/labstack/echo/v4", "Context")
}

// holdsRequest reports whether t is a struct, or a pointer to one, with a
// field of a request's type.
func holdsRequest(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for i := range st.NumFields() {
		if isRequestType(st.Field(i).Type()) {
			return true
		}
	}
	return false
}

// isNamed reports whether t (or what it points to) is the named type
// pkgPath.name.
func isNamed(t types.Type, pkgPath, name string) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkgPath && n.Obj().Name() == name
}

// mappedImporter resolves an import path through go list's ImportMap (for
// vendored standard library paths) before importing it.
type mappedImporter struct {
	imp types.Importer
	m   map[string]string
}

func (m mappedImporter) Import(path string) (*types.Package, error) {
	if p, ok := m.m[path]; ok {
		path = p
	}
	return m.imp.Import(path)
}
