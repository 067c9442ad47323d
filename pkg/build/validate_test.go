package build_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

func validate(files map[string]string) []build.Problem {
	m := map[string][]byte{}
	for name, src := range files {
		m[name] = []byte(src)
	}
	return build.Validate(m, build.DefaultPolicy())
}

// wantProblems checks problems by position, code and a fragment of the
// message, in order.
type want struct {
	file         string
	line, column int
	code         build.ProblemCode
	fragment     string
}

func checkProblems(t *testing.T, got []build.Problem, wants ...want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(wants), problemList(got))
	}
	for i, w := range wants {
		g := got[i]
		if g.File != w.file || g.Line != w.line || g.Column != w.column || g.Code != w.code || !strings.Contains(g.Message, w.fragment) {
			t.Errorf("problem %d = %+v, want %+v", i, g, w)
		}
	}
}

func problemList(ps []build.Problem) string {
	var lines []string
	for _, p := range ps {
		lines = append(lines, "\t"+p.String()+" ["+string(p.Code)+"]")
	}
	return strings.Join(lines, "\n")
}

func TestValidateAcceptsAllowedPrograms(t *testing.T) {
	if ps := validate(map[string]string{"main.go": goodTool}); ps != nil {
		t.Fatalf("goodTool refused:\n%s", problemList(ps))
	}
	// The toolkit's examples are what generated tools look like.
	for _, dir := range []string{"toolkits/go/examples/hashtext", "toolkits/go/examples/wordcount"} {
		data, err := os.ReadFile(filepath.Join(testmodules.Root(), dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if ps := validate(map[string]string{"main.go": string(data)}); ps != nil {
			t.Errorf("%s refused:\n%s", dir, problemList(ps))
		}
	}
	// Harmless directives and comments that merely mention directives.
	src := `//go:build wasip1

package main

import "strings"

// This tool never uses //go:linkname.
// go:embed with a space is not a directive.

//go:noinline
func upper(s string) string { return strings.ToUpper(s) } // see //go:nosplit below

//go:nosplit
func main() { _ = upper("x"); _ = "//go:linkname in a string" }
`
	if ps := validate(map[string]string{"main.go": src}); ps != nil {
		t.Fatalf("refused:\n%s", problemList(ps))
	}
}

func TestValidateRefusesForbiddenImports(t *testing.T) {
	src := `package main

import (
	"fmt"
	"os"
	x "net/http"
	_ "unsafe"
	"github.com/evil/pkg"
)
`
	checkProblems(t, validate(map[string]string{"main.go": src}),
		want{"main.go", 5, 2, build.CodeImport, `import "os" is not allowed: the sandbox has no files or processes; read declared env vars with kiln.Env`},
		want{"main.go", 6, 4, build.CodeImport, `import "net/http" is not allowed`},
		want{"main.go", 7, 4, build.CodeImport, `import "unsafe" is not allowed`},
		want{"main.go", 8, 2, build.CodeImport, `import "github.com/evil/pkg" is not allowed: only the standard library subset`},
	)
	// A single-line import declaration.
	checkProblems(t, validate(map[string]string{"tool.go": "package main\n\nimport \"os/exec\"\n"}),
		want{"tool.go", 3, 8, build.CodeImport, `import "os/exec" is not allowed: tools cannot start processes`})
}

func TestValidateRefusesCgo(t *testing.T) {
	src := `package main

// #include <stdio.h>
import "C"

func main() {}
`
	checkProblems(t, validate(map[string]string{"main.go": src}),
		want{"main.go", 4, 8, build.CodeCgo, `import "C" (cgo) is not allowed`})
}

func TestValidateRefusesDirectives(t *testing.T) {
	src := `package main

import (
	_ "embed"
	"strings"
)

//go:embed secrets.txt
var data string

func main() {
	//go:linkname nanotime runtime.nanotime
	_ = strings.ToUpper(data)
}

type T struct {
	X int //go:linkname hidden runtime.x
}

//go:wasmimport env steal
func steal()

//go:wasmexport run
func run() {}

//go:cgo_import_dynamic libc_open open "libc.so"
//go:debug panicnil=1
//go:uintptrescapes
/*go:linkname a b*/
//line other.go:100
`
	checkProblems(t, validate(map[string]string{"main.go": src}),
		want{"main.go", 4, 4, build.CodeImport, `import "embed" is not allowed`},
		want{"main.go", 8, 1, build.CodeDirective, "//go:embed is not allowed"},
		want{"main.go", 12, 2, build.CodeDirective, "//go:linkname is not allowed"},
		want{"main.go", 17, 8, build.CodeDirective, "//go:linkname is not allowed"},
		want{"main.go", 20, 1, build.CodeDirective, "//go:wasmimport is not allowed"},
		want{"main.go", 23, 1, build.CodeDirective, "//go:wasmexport is not allowed"},
		want{"main.go", 26, 1, build.CodeDirective, "//go:cgo_import_dynamic is a cgo directive"},
		want{"main.go", 27, 1, build.CodeDirective, "//go:debug is not allowed"},
		want{"main.go", 28, 1, build.CodeDirective, "//go:uintptrescapes directive is not allowed"},
		want{"main.go", 29, 1, build.CodeDirective, "//go:linkname is not allowed"},
		want{"main.go", 30, 1, build.CodeDirective, "//line directives are not allowed"},
	)
}

func TestLineDirectivesDoNotMovePositions(t *testing.T) {
	src := "package main\n\n//line fake.go:1000:1\nimport \"os\"\n"
	checkProblems(t, validate(map[string]string{"main.go": src}),
		want{"main.go", 3, 1, build.CodeDirective, "//line"},
		want{"main.go", 4, 8, build.CodeImport, `"os"`})
}

func TestValidateReportsSyntaxErrors(t *testing.T) {
	src := `package main

import "strings"

func main() {
	x := strings.ToUpper("a"
}
`
	ps := validate(map[string]string{"main.go": src})
	if len(ps) == 0 || ps[0].Code != build.CodeSyntax || ps[0].File != "main.go" || ps[0].Line != 6 || ps[0].Column != 26 {
		t.Fatalf("problems:\n%s", problemList(ps))
	}
	if !strings.Contains(ps[0].Message, "expected ')'") && !strings.Contains(ps[0].Message, "missing ','") {
		t.Errorf("message = %q", ps[0].Message)
	}
	// What was parsed before the error is still checked.
	src = "package main\n\nimport \"os\"\n\nfunc main() {\n"
	ps = validate(map[string]string{"main.go": src})
	codes := map[build.ProblemCode]bool{}
	for _, p := range ps {
		codes[p.Code] = true
	}
	if !codes[build.CodeSyntax] || !codes[build.CodeImport] {
		t.Errorf("problems:\n%s", problemList(ps))
	}
}

func TestValidateRefusesOtherPackages(t *testing.T) {
	checkProblems(t, validate(map[string]string{"lib.go": "// Package lib.\npackage lib\n"}),
		want{"lib.go", 2, 9, build.CodePackage, "the package is lib; a tool is package main"})
}

func TestValidateFileNames(t *testing.T) {
	ps := validate(map[string]string{
		"main.go":         goodTool,
		"main_test.go":    "package main\n",
		"util_windows.go": "package main\n",
		"ignored.go":      "//go:build ignore\n\npackage main\n",
		"_hidden.go":      "package main\n",
		"../escape.go":    "package main\n",
		"notes.txt":       "hi",
	})
	checkProblems(t, ps,
		want{"../escape.go", 0, 0, build.CodeFile, "plain name"},
		want{"_hidden.go", 0, 0, build.CodeFile, "start with . or _"},
		want{"ignored.go", 0, 0, build.CodeFile, "left out of a wasip1/wasm build"},
		want{"main_test.go", 0, 0, build.CodeFile, "test files"},
		want{"notes.txt", 0, 0, build.CodeFile, "only .go files"},
		want{"util_windows.go", 0, 0, build.CodeFile, "left out of a wasip1/wasm build"},
	)
}

func TestValidateSizeLimits(t *testing.T) {
	p := build.DefaultPolicy()
	p.MaxFiles, p.MaxFileBytes, p.MaxTotalBytes, p.MaxLineBytes = 2, 100, 150, 40
	run := func(files map[string]string) []build.Problem {
		m := map[string][]byte{}
		for name, src := range files {
			m[name] = []byte(src)
		}
		return build.Validate(m, p)
	}
	small := "package main\n"

	checkProblems(t, run(map[string]string{}), want{"", 0, 0, build.CodeSize, "no .go files"})
	checkProblems(t, run(map[string]string{"a.go": small, "b.go": small, "c.go": small}),
		want{"", 0, 0, build.CodeSize, "3 files; at most 2 are allowed"})
	checkProblems(t, run(map[string]string{"a.go": small + "// " + strings.Repeat("x", 100) + "\n"}),
		want{"a.go", 0, 0, build.CodeSize, "the file is 117 bytes; at most 100 are allowed"})
	checkProblems(t, run(map[string]string{"a.go": small + strings.Repeat("//\n", 25), "b.go": small + strings.Repeat("//\n", 25)}),
		want{"", 0, 0, build.CodeSize, "176 bytes of source; at most 150 are allowed"})
	long := "// " + strings.Repeat("x", 40) + "\n"
	p.MaxFileBytes, p.MaxTotalBytes = 1000, 1000
	checkProblems(t, run(map[string]string{"a.go": small + "\n" + long + long + "\n" + long}),
		want{"a.go", 3, 41, build.CodeSize, "the line is 43 bytes long; at most 40 are allowed (2 more lines are too long)"})

	// A policy cannot raise the limits above what GoBuilder accepts.
	p = build.Policy{AllowedImports: []string{"strings"}, MaxFiles: 1 << 20, MaxFileBytes: 1 << 30, MaxTotalBytes: 1 << 30}
	many := map[string][]byte{}
	for i := range build.MaxSourceFiles + 1 {
		many[strings.Repeat("a", i+1)+".go"] = []byte(small)
	}
	checkProblems(t, build.Validate(many, p),
		want{"", 0, 0, build.CodeSize, "at most 32 are allowed"})
}

func TestValidateBoundsTheProblems(t *testing.T) {
	src := "package main\n" + strings.Repeat("//go:linkname a b\n", 150)
	ps := validate(map[string]string{"main.go": src})
	if len(ps) != build.MaxProblems+1 || ps[build.MaxProblems-1].Line != build.MaxProblems+1 {
		t.Fatalf("%d problems", len(ps))
	}
	if last := ps[build.MaxProblems]; last.Code != build.CodeMore || last.Message != "50 more problems are not shown" {
		t.Fatalf("last = %+v", last)
	}
}

func TestPolicyCuratedImports(t *testing.T) {
	src := "package main\n\nimport (\n\t\"example.com/curated/text/v2\"\n\t\"example.com/curatedother\"\n)\n"
	files := map[string][]byte{"main.go": []byte(src)}
	base := build.DefaultPolicy()
	pro := base.WithImports("example.com/curated/...")
	checkProblems(t, build.Validate(files, pro),
		want{"main.go", 5, 2, build.CodeImport, `"example.com/curatedother" is not allowed`})
	if len(build.Validate(files, base)) != 2 {
		t.Error("WithImports changed the policy it was called on")
	}
	// Nil allows nothing: a policy fails closed.
	if len(build.Validate(map[string][]byte{"main.go": []byte(goodTool)}, build.Policy{})) != 2 {
		t.Error("the zero Policy allowed imports")
	}
	// Callers get fresh lists.
	a := build.DefaultPolicy()
	a.AllowedImports[0] = "os"
	if build.DefaultPolicy().AllowedImports[0] == "os" || build.DefaultStdlibImports()[0] == "os" {
		t.Error("DefaultPolicy shares its list")
	}
}

func TestProblemsAreSortedAndMarshal(t *testing.T) {
	ps := validate(map[string]string{
		"b.go": "package main\n\nimport \"os\"\n",
		"a.go": "package lib\n\nimport (\n\t\"net\"\n\t\"os\"\n)\n",
	})
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	wantOrder := []string{
		"a.go:1:9: the package is lib; a tool is package main",
		`a.go:4:2: import "net" is not allowed: tools have no sockets; network access goes through the host`,
		`a.go:5:2: import "os" is not allowed: the sandbox has no files or processes; read declared env vars with kiln.Env`,
		`b.go:3:8: import "os" is not allowed: the sandbox has no files or processes; read declared env vars with kiln.Env`,
	}
	if !reflect.DeepEqual(got, wantOrder) {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}

	err := error(&build.ValidationError{Problems: ps[:1]})
	data, jerr := json.Marshal(err)
	if jerr != nil {
		t.Fatal(jerr)
	}
	if string(data) != `{"problems":[{"file":"a.go","line":1,"column":9,"code":"package","message":"the package is lib; a tool is package main"}]}` {
		t.Errorf("json = %s", data)
	}
	data, _ = json.Marshal(build.Problem{Code: build.CodeSize, Message: "m"})
	if string(data) != `{"code":"size","message":"m"}` {
		t.Errorf("json = %s", data)
	}
	if err.Error() != "build: the source was refused: a.go:1:9: the package is lib; a tool is package main" {
		t.Errorf("Error() = %q", err.Error())
	}
	var verr *build.ValidationError
	if !errors.As(err, &verr) {
		t.Error("not a ValidationError")
	}
	if s := (&build.ValidationError{Problems: ps}).Error(); !strings.HasPrefix(s, "build: the source was refused (4 problems):\n\ta.go:1:9:") {
		t.Errorf("Error() = %q", s)
	}
}

// Every package of the default list must exist for wasip1, or a tool
// allowed to import it would fail to build.
func TestDefaultStdlibImportsBuildForWasip1(t *testing.T) {
	cmd := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}} {{.Standard}} {{if .Error}}{{.Error}}{{end}}"}, build.DefaultStdlibImports()...)...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) != 2 || f[1] != "true" {
			t.Errorf("not a standard package for wasip1: %s", line)
		}
	}
}

// Validate reads what strangers send: it must not panic, and whatever it
// reports must be sorted and carry a code and a message.
func FuzzValidate(f *testing.F) {
	f.Add("main.go", goodTool)
	f.Add("main.go", "package main\n//go:linkname a b\nimport \"C\"\n")
	f.Add("x_test.go", "package p\n/*line a.go:1*/ func(")
	f.Add("a.go", "//go:build ignore\n")
	f.Fuzz(func(t *testing.T, name, src string) {
		ps := build.Validate(map[string][]byte{name: []byte(src), "z.go": []byte("package main\n")}, build.DefaultPolicy())
		for i, p := range ps {
			if p.Code == "" || p.Message == "" || p.Line < 0 || p.Column < 0 {
				t.Fatalf("bad problem %+v", p)
			}
			if i > 0 && ps[i-1].File > p.File && p.Code != build.CodeMore {
				t.Fatalf("unsorted: %v", ps)
			}
		}
	})
}
