package build

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/scanner"
	"go/token"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	toolkit "github.com/kilnhq/kiln/toolkits/go"
)

// ToolkitImport is the import path of the Go toolkit package every tool uses.
const ToolkitImport = toolkit.ModulePath + "/kiln"

// JSONDocImport is the toolkit's order-keeping, fuel-cheap JSON package.
const JSONDocImport = toolkit.ModulePath + "/jsondoc"

// Policy says what source a customer may submit. The caller derives it from
// the customer's tier and passes it in; nothing here looks a tier up, so a
// forgotten lookup cannot silently grant a default plan.
//
// The import rules are not what keeps a tool in its sandbox (wazero, fuel
// and the host functions are): they refuse early, with a position the
// wizard can show, source that could not work inside the sandbox (sockets,
// processes, files), source that would reach around the toolkit (unsafe,
// linkname, wasmimport) and packages that make modules large and slow to
// build for no benefit to a tool (net/http alone makes a module ~10 MB).
type Policy struct {
	// AllowedImports lists the import paths a tool may use: exact paths,
	// or "prefix/..." for a path and everything below it (curated
	// modules). Nil allows nothing: a policy fails closed.
	AllowedImports []string
	// MaxFiles bounds the number of files; MaxFileBytes the size of one
	// file; MaxTotalBytes the size of all files; MaxLineBytes the length
	// of one line (long lines are minified or generated data, and the
	// wizard cannot show them). Zero or less means DefaultPolicy's value;
	// MaxFiles and MaxTotalBytes are also capped at MaxSourceFiles and
	// MaxSourceBytes, which GoBuilder enforces anyway.
	MaxFiles      int
	MaxFileBytes  int
	MaxTotalBytes int
	MaxLineBytes  int
}

// Default size limits of DefaultPolicy.
const (
	DefaultMaxFiles      = 16
	DefaultMaxFileBytes  = 256 << 10
	DefaultMaxTotalBytes = 512 << 10
	DefaultMaxLineBytes  = 4096
)

// DefaultStdlibImports returns the standard-library subset of DefaultPolicy:
// packages that compute (text, encodings, hashes, math, time, data
// structures) and touch nothing outside the module.
//
// Deliberately absent (see forbiddenHints for the message each gets):
//   - os, os/*, syscall, path/filepath, io/ioutil: the sandbox gives no
//     files and no processes; env vars are read with kiln.Env, which is
//     what the manifest's declared env vars are for.
//   - net, net/http, net/rpc, net/smtp...: there are no sockets; network
//     access goes through the host (egress checks, secrets substitution).
//     net/url and net/netip are parsers only and are allowed.
//   - unsafe, runtime, runtime/*, plugin, embed, debug/*, internal/*: they
//     reach below the type system or into the runtime and the toolkit.
//   - log, log/slog: log.Fatal ends the call without a result, and output
//     is the toolkit's business (kiln.Log).
//
// time/tzdata is allowed: it is the IANA zone database as data (about
// 450 KB), and without it time.LoadLocation finds no zone in the sandbox,
// which has no files.
//
// reflect is allowed: without unsafe it cannot break memory safety,
// encoding/json links it in anyway, and kiln.SchemaFor takes a
// reflect.Type.
//
// It is a function, not a variable, so no caller can change every other
// caller's policy.
func DefaultStdlibImports() []string {
	return []string{
		"bufio", "bytes", "cmp", "context", "errors", "fmt", "io", "iter",
		"maps", "slices", "sort", "strconv", "strings", "sync", "sync/atomic",
		"time", "time/tzdata", "unicode", "unicode/utf8", "unicode/utf16", "unique", "path",
		"reflect", "regexp",
		"math", "math/big", "math/bits", "math/cmplx", "math/rand", "math/rand/v2",
		"container/heap", "container/list", "container/ring",
		"encoding", "encoding/ascii85", "encoding/base32", "encoding/base64",
		"encoding/binary", "encoding/csv", "encoding/hex", "encoding/json",
		"encoding/pem", "encoding/xml",
		"hash", "hash/adler32", "hash/crc32", "hash/crc64", "hash/fnv", "hash/maphash",
		"crypto", "crypto/aes", "crypto/cipher", "crypto/ed25519", "crypto/hkdf",
		"crypto/hmac", "crypto/md5", "crypto/pbkdf2", "crypto/rand", "crypto/sha1",
		"crypto/sha256", "crypto/sha3", "crypto/sha512", "crypto/subtle",
		"compress/flate", "compress/gzip", "compress/zlib",
		"html", "html/template", "text/tabwriter", "text/template", "text/scanner",
		"net/url", "net/netip",
	}
}

// DefaultPolicy returns the policy of the most restricted plan: the
// DefaultStdlibImports subset and the toolkit, no curated packages, and the
// Default* size limits. Callers add a tier's curated packages with
// WithImports.
func DefaultPolicy() Policy {
	imports := append(DefaultStdlibImports(), ToolkitImport, JSONDocImport)
	return Policy{
		AllowedImports: imports,
		MaxFiles:       DefaultMaxFiles,
		MaxFileBytes:   DefaultMaxFileBytes,
		MaxTotalBytes:  DefaultMaxTotalBytes,
		MaxLineBytes:   DefaultMaxLineBytes,
	}
}

// WithImports returns a copy of p that also allows paths (same forms as
// AllowedImports). p itself is not modified.
func (p Policy) WithImports(paths ...string) Policy {
	p.AllowedImports = append(slices.Clone(p.AllowedImports), paths...)
	return p
}

// allows reports whether p allows importing path.
func (p Policy) allows(importPath string) bool {
	for _, a := range p.AllowedImports {
		if prefix, ok := strings.CutSuffix(a, "/..."); ok {
			if importPath == prefix || strings.HasPrefix(importPath, prefix+"/") {
				return true
			}
		} else if importPath == a {
			return true
		}
	}
	return false
}

func (p Policy) limits() (files, fileBytes, totalBytes, lineBytes int) {
	orDefault := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	files = min(orDefault(p.MaxFiles, DefaultMaxFiles), MaxSourceFiles)
	totalBytes = min(orDefault(p.MaxTotalBytes, DefaultMaxTotalBytes), MaxSourceBytes)
	fileBytes = min(orDefault(p.MaxFileBytes, DefaultMaxFileBytes), totalBytes)
	lineBytes = orDefault(p.MaxLineBytes, DefaultMaxLineBytes)
	return
}

// ProblemCode classifies a Problem so the wizard (or the LLM that rewrites
// the source) can react to the kind without parsing the message.
type ProblemCode string

// Problem codes.
const (
	CodeSize      ProblemCode = "size"      // a size limit is crossed
	CodeFile      ProblemCode = "file"      // a file name the build would refuse or ignore
	CodeSyntax    ProblemCode = "syntax"    // the parser's error
	CodePackage   ProblemCode = "package"   // not package main
	CodeImport    ProblemCode = "import"    // an import outside the policy
	CodeCgo       ProblemCode = "cgo"       // import "C"
	CodeDirective ProblemCode = "directive" // a //go: or //line directive that is not allowed
	CodeMore      ProblemCode = "more"      // last: how many problems beyond MaxProblems were left out
)

// MaxProblems bounds the problems Validate lists, so hostile or badly
// broken source cannot produce a response of megabytes; one more problem
// with CodeMore then says how many were left out.
const MaxProblems = 100

// Problem is one reason source was refused. File is empty for problems of
// the whole source (too many files); Line and Column are zero for problems
// of a whole file. Lines and columns count from 1; columns are in bytes,
// as the Go compiler counts them.
type Problem struct {
	File    string      `json:"file,omitempty"`
	Line    int         `json:"line,omitempty"`
	Column  int         `json:"column,omitempty"`
	Code    ProblemCode `json:"code"`
	Message string      `json:"message"`
}

// String formats p as the Go tools do: "main.go:3:2: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError is source refused by Validate, before any compiling.
type ValidationError struct {
	Problems []Problem `json:"problems"`
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("build: the source was refused: ")
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "build: the source was refused (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// forbiddenHints explains, for well-known packages outside the default
// set, why they are refused and what to use instead. Other refused imports
// get a generic message.
var forbiddenHints = map[string]string{
	"os":            "the sandbox has no files or processes; read declared env vars with kiln.Env",
	"os/exec":       "tools cannot start processes",
	"os/signal":     "tools receive no signals",
	"os/user":       "the sandbox has no users",
	"syscall":       "system calls are not available to tools",
	"syscall/js":    "this is the browser's API, not the sandbox's",
	"io/ioutil":     "the sandbox has no files",
	"path/filepath": "the sandbox has no files; use package path for slash-separated paths",
	"io/fs":         "the sandbox has no files",
	"net":           "tools have no sockets; network access goes through the host",
	"net/http":      "tools have no sockets; network access goes through the host, not net/http",
	"net/rpc":       "tools have no sockets",
	"net/smtp":      "tools have no sockets",
	"unsafe":        "unsafe would let a tool reach around the type system and the toolkit",
	"runtime":       "the runtime is configured by the host",
	"runtime/debug": "the runtime is configured by the host",
	"runtime/cgo":   "cgo is not available",
	"plugin":        "plugins cannot be loaded in the sandbox",
	"embed":         "embedding files is not allowed; put data in the source",
	"log":           "return an error, or log with kiln.Log / kiln.Logf (log.Fatal would end the call without a result)",
	"log/slog":      "log with kiln.Log / kiln.Logf",
	"testing":       "tests are not part of a tool",
	"database/sql":  "tools have no database connections",
}

// allowedDirectives are the //go: directives a tool may carry: they only
// steer the compiler's optimisation or tools, and reach nothing. Every
// other directive is refused (as the fuel walker refuses unknown opcodes)
// so a directive added to a future Go release is not silently accepted.
var allowedDirectives = map[string]bool{
	"build":    true,
	"generate": true,
	"fix":      true,
	"noinline": true,
	"nosplit":  true,
	"norace":   true,
}

// directiveReasons are the messages of the refused directives most worth
// explaining.
var directiveReasons = map[string]string{
	"linkname":   "//go:linkname is not allowed: it reaches into other packages' private symbols",
	"embed":      "//go:embed is not allowed: a tool embeds no files; put data in the source",
	"wasmimport": "//go:wasmimport is not allowed: host functions are reached through the toolkit",
	"wasmexport": "//go:wasmexport is not allowed: the toolkit owns the module's exports",
	"debug":      "//go:debug is not allowed: runtime settings belong to the host",
}

// Validate checks tool source against policy without compiling it and
// returns the problems found, sorted by file and position (at most
// MaxProblems of them, then a CodeMore summary); nil means the source may
// be built. Files too large to be within the limits are not
// parsed, so the work Validate does is bounded by the policy.
func Validate(files map[string][]byte, policy Policy) []Problem {
	maxFiles, maxFileBytes, maxTotal, maxLine := policy.limits()
	v := &validator{policy: policy, maxLine: maxLine}

	if len(files) == 0 {
		v.add(Problem{Code: CodeSize, Message: "there are no .go files"})
	}
	if len(files) > maxFiles {
		v.add(Problem{Code: CodeSize, Message: fmt.Sprintf("%d files; at most %d are allowed", len(files), maxFiles)})
	}
	total := 0
	for _, data := range files {
		total += len(data)
	}
	tooBig := total > maxTotal
	if tooBig {
		v.add(Problem{Code: CodeSize, Message: fmt.Sprintf("%d bytes of source; at most %d are allowed", total, maxTotal)})
	}

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	fset := token.NewFileSet()
	for _, name := range names {
		data := files[name]
		if !v.checkName(name, files) {
			continue
		}
		if len(data) > maxFileBytes {
			v.add(Problem{File: name, Code: CodeSize, Message: fmt.Sprintf("the file is %d bytes; at most %d are allowed", len(data), maxFileBytes)})
			continue
		}
		if tooBig {
			continue // bounded work: do not parse more than the policy allows
		}
		v.checkLines(name, data)
		v.checkFile(fset, name, data)
	}
	slices.SortStableFunc(v.problems, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Message, b.Message),
		)
	})
	if n := len(v.problems); n > MaxProblems {
		v.problems = append(v.problems[:MaxProblems], Problem{Code: CodeMore, Message: fmt.Sprintf("%d more problems are not shown", n-MaxProblems)})
	}
	return v.problems
}

type validator struct {
	policy   Policy
	maxLine  int
	problems []Problem
}

func (v *validator) add(p Problem) { v.problems = append(v.problems, p) }

// at records a problem at pos. Positions ignore //line directives: they
// must name the bytes the author sent.
func (v *validator) at(fset *token.FileSet, pos token.Pos, code ProblemCode, msg string) {
	p := fset.PositionFor(pos, false)
	v.add(Problem{File: p.Filename, Line: p.Line, Column: p.Column, Code: code, Message: msg})
}

// checkName refuses names GoBuilder would refuse and names the go command
// would silently leave out of the build (test files, files for another
// GOOS/GOARCH or excluded by a build constraint), which would otherwise
// surface as baffling "undefined" errors. It reports whether the file's
// contents are worth checking.
func (v *validator) checkName(name string, files map[string][]byte) bool {
	switch {
	case name != path.Base(name) || strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		v.add(Problem{File: name, Code: CodeFile, Message: "a file name must be a plain name, without directories"})
		return false
	case !strings.HasSuffix(name, ".go"):
		v.add(Problem{File: name, Code: CodeFile, Message: "only .go files are built"})
		return false
	case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
		v.add(Problem{File: name, Code: CodeFile, Message: "the go command ignores files whose names start with . or _"})
		return false
	case strings.HasSuffix(name, "_test.go"):
		v.add(Problem{File: name, Code: CodeFile, Message: "test files are not part of a tool"})
		return false
	}
	// build.Context only evaluates the file name and its //go:build line
	// here; it reads the file from memory, never from disk.
	ctxt := build.Context{
		GOOS: "wasip1", GOARCH: "wasm", Compiler: "gc", CgoEnabled: false,
		ReleaseTags: build.Default.ReleaseTags,
		OpenFile: func(string) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(files[name])), nil
		},
	}
	ok, err := ctxt.MatchFile(".", name)
	if err == nil && !ok {
		v.add(Problem{File: name, Code: CodeFile, Message: "the file is left out of a wasip1/wasm build by its name or its //go:build constraint"})
	}
	// Syntax errors MatchFile meets are reported by the parser below.
	return true
}

// checkLines reports the first over-long line of a file and how many
// others there are, rather than one problem per line.
func (v *validator) checkLines(name string, data []byte) {
	first, firstLen, more := 0, 0, 0
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := len(bytes.TrimSuffix(line, []byte("\r")))
		if n <= v.maxLine {
			continue
		}
		if first == 0 {
			first, firstLen = i+1, n
		} else {
			more++
		}
	}
	if first == 0 {
		return
	}
	msg := fmt.Sprintf("the line is %d bytes long; at most %d are allowed", firstLen, v.maxLine)
	if more > 0 {
		msg += fmt.Sprintf(" (%d more lines are too long)", more)
	}
	v.add(Problem{File: name, Line: first, Column: v.maxLine + 1, Code: CodeSize, Message: msg})
}

func (v *validator) checkFile(fset *token.FileSet, name string, data []byte) {
	f, err := parser.ParseFile(fset, name, data, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		var list scanner.ErrorList
		if !errors.As(err, &list) {
			v.add(Problem{File: name, Code: CodeSyntax, Message: err.Error()})
		}
		for _, e := range list {
			v.add(Problem{File: name, Line: e.Pos.Line, Column: e.Pos.Column, Code: CodeSyntax, Message: e.Msg})
		}
	}
	if f == nil {
		return
	}
	// A file with syntax errors is still checked as far as it was parsed:
	// one round trip shows the author every problem the parser reached.
	// After a syntax error in the package clause the parser names the
	// package "_"; that is not worth a second problem.
	if f.Name != nil && f.Name.Name != "main" && (err == nil || f.Name.Name != "_") {
		v.at(fset, f.Name.Pos(), CodePackage, fmt.Sprintf("the package is %s; a tool is package main", f.Name.Name))
	}
	for _, imp := range f.Imports {
		v.checkImport(fset, imp)
	}
	for _, group := range f.Comments {
		for _, c := range group.List {
			v.checkComment(fset, c)
		}
	}
}

func (v *validator) checkImport(fset *token.FileSet, imp *ast.ImportSpec) {
	if imp.Path == nil {
		return
	}
	importPath, err := strconv.Unquote(imp.Path.Value)
	if err != nil {
		return // the parser has reported it
	}
	switch {
	case importPath == "C":
		v.at(fset, imp.Path.Pos(), CodeCgo, `import "C" (cgo) is not allowed: tools are pure Go`)
	case v.policy.allows(importPath):
	default:
		msg := fmt.Sprintf("import %q is not allowed", importPath)
		if hint, ok := forbiddenHints[importPath]; ok {
			msg += ": " + hint
		} else if strings.HasPrefix(importPath, "internal/") || strings.Contains(importPath, "/internal/") || strings.HasPrefix(importPath, "runtime/") {
			msg += ": it is internal to Go or to the runtime"
		} else if !strings.Contains(strings.SplitN(importPath, "/", 2)[0], ".") {
			msg += " for tools on this plan"
		} else {
			msg += ": only the standard library subset, the toolkit and the plan's curated packages can be imported"
		}
		v.at(fset, imp.Path.Pos(), CodeImport, msg)
	}
}

// checkComment refuses compiler directives. The compiler honours //go:
// directives in line comments wherever they stand (linkname anywhere in
// the file), so every comment group is checked, not only doc comments.
// Block comments starting with "go:" are refused as well: they mean
// nothing to the compiler today, so refusing them costs nothing.
func (v *validator) checkComment(fset *token.FileSet, c *ast.Comment) {
	text := c.Text
	var body string
	switch {
	case strings.HasPrefix(text, "//"):
		body = text[2:]
	case strings.HasPrefix(text, "/*"):
		body = strings.TrimSuffix(text[2:], "*/")
	default:
		return
	}
	if strings.HasPrefix(body, "line ") {
		v.at(fset, c.Pos(), CodeDirective, "//line directives are not allowed: they would make error positions point at the wrong place")
		return
	}
	directive, ok := strings.CutPrefix(body, "go:")
	if !ok {
		return // //export means nothing without import "C", refused above
	}
	name, _, _ := strings.Cut(directive, " ")
	name, _, _ = strings.Cut(name, "\t")
	if strings.HasPrefix(text, "//") && allowedDirectives[name] {
		return
	}
	msg, ok := directiveReasons[name]
	switch {
	case ok:
	case strings.HasPrefix(name, "cgo_"):
		msg = fmt.Sprintf("//go:%s is a cgo directive and is not allowed", name)
	default:
		msg = fmt.Sprintf("the //go:%s directive is not allowed in a tool", name)
	}
	v.at(fset, c.Pos(), CodeDirective, msg)
}
