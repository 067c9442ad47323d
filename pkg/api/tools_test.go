package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

const doubleTool = `package main

import (
	"context"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	N int ` + "`json:\"n\"`" + `
}

func double(_ context.Context, v in) (int, error) { return 2 * v.N, nil }

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{kiln.NewTool("double", "Doubles n", double)}})
}
`

type problemJSON struct {
	File, Code, Message string
	Line, Column        int
}

// TestSourceIsRefusedWithPositions: a forbidden import, cgo and a linkname
// directive are each refused through the API with a 422 that says where.
func TestSourceIsRefusedWithPositions(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer("free")
		srv := h.server(key, "s")
		for _, tc := range []struct {
			name, source string
			want         problemJSON
		}{
			{"forbidden import", "package main\n\nimport (\n\t\"net/http\"\n)\n\nfunc main() { _ = http.Get }\n",
				problemJSON{File: "main.go", Line: 4, Column: 2, Code: "import", Message: `import "net/http" is not allowed`}},
			{"cgo", "package main\n\n// int x;\nimport \"C\"\n\nfunc main() {}\n",
				problemJSON{File: "main.go", Line: 4, Column: 8, Code: "cgo", Message: `import "C" (cgo) is not allowed`}},
			{"linkname", "package main\n\nimport _ \"unsafe\"\n\n//go:linkname now runtime.nanotime\nfunc now() int64\n\nfunc main() {}\n",
				problemJSON{File: "main.go", Line: 5, Column: 1, Code: "directive", Message: "//go:linkname is not allowed"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{"files": map[string]string{"main.go": tc.source}}).want(t, 422)
				var body struct {
					Error    string
					Problems []problemJSON
				}
				r.decode(t, &body)
				var found bool
				for _, p := range body.Problems {
					if p.File == tc.want.File && p.Line == tc.want.Line && p.Column == tc.want.Column && p.Code == tc.want.Code &&
						strings.HasPrefix(p.Message, tc.want.Message) {
						found = true
					}
				}
				if !found || !strings.Contains(body.Error, "the source was refused") {
					t.Fatalf("want %+v among %s", tc.want, r.body)
				}
			})
		}
		var tools struct{ Items []any }
		h.do("GET", "/api/v1/servers/"+srv.ID+"/tools", key, nil).want(t, 200).decode(t, &tools)
		if len(tools.Items) != 0 {
			t.Fatalf("refused source became a tool: %+v", tools)
		}
	})
}

// TestToolFromSource builds Go source through the API with the real
// toolchain, stores the module and the source, and audits the build.
func TestToolFromSource(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, key := h.customer("free")
		srv := h.server(key, "math")
		files := map[string]string{"main.go": doubleTool}
		var tool struct {
			ID, Name string
			Current  struct {
				Version    int
				Source     string
				ModuleHash string `json:"module_hash"`
				ModuleTool string `json:"module_tool"`
			}
		}
		h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{"files": files}).want(t, 201).decode(t, &tool)
		if tool.Name != "double" || tool.Current.Source != "go" || tool.Current.ModuleTool != "double" || tool.Current.Version != 1 {
			t.Fatalf("tool %+v", tool)
		}
		ctx := t.Context()
		mod, err := h.store.Module(ctx, tool.Current.ModuleHash)
		if err != nil || mod.Size == 0 || len(mod.Manifest) == 0 {
			t.Fatalf("stored module %+v, %v", mod, err)
		}
		version, err := h.store.ToolVersion(ctx, tool.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		var stored map[string]string
		if err := json.Unmarshal([]byte(*version.SourceCode), &stored); err != nil || stored["main.go"] != doubleTool {
			t.Fatalf("stored source %q, %v", *version.SourceCode, err)
		}

		// The same source again, under another name, reuses the module.
		var again struct {
			Current struct {
				ModuleHash string `json:"module_hash"`
			}
		}
		h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{"files": files, "name": "twice"}).want(t, 201).decode(t, &again)
		if again.Current.ModuleHash != tool.Current.ModuleHash {
			t.Fatal("identical source produced another module")
		}
		h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{"files": files}).want(t, 409)
		h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{"files": files, "tool": "triple", "name": "t3"}).want(t, 422)

		var one struct {
			Versions []struct{ Version int }
		}
		h.do("GET", "/api/v1/servers/"+srv.ID+"/tools/"+tool.ID, key, nil).want(t, 200).decode(t, &one)
		if len(one.Versions) != 1 {
			t.Fatalf("versions %+v", one)
		}
		h.do("GET", "/api/v1/servers/"+srv.ID+"/tools/tool_nope", key, nil).want(t, 404)

		var log struct {
			Items []struct {
				Target  string
				Details map[string]any
			}
		}
		// Every build is audited, also the two whose tool was then refused.
		h.admin("GET", "/audit?action=module.build&customer="+custID, nil).want(t, 200).decode(t, &log)
		if len(log.Items) != 4 || log.Items[0].Target != tool.Current.ModuleHash || log.Items[0].Details["server"] != srv.ID {
			t.Fatalf("build audit %+v", log)
		}
	})
}

func TestToolSourceThatDoesNotCompile(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	custID, key := h.customer("free")
	srv := h.server(key, "s")
	var body struct{ Error, Output string }
	h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{
		"files": map[string]string{"main.go": "package main\n\nfunc main() { undefined() }\n"},
	}).want(t, 422).decode(t, &body)
	if !strings.Contains(body.Output, "main.go:3:15: undefined: undefined") {
		t.Fatalf("answer %+v", body)
	}
	// The failure is audited with the compiler's first message.
	e, d := h.auditDetails(custID, "module.build_failed")
	if out, _ := d["output"].(string); e.Target != srv.ID || d["status"] != 422.0 || !strings.HasSuffix(out, "main.go:3:15: undefined: undefined") {
		t.Fatalf("audited as %+v %v", e, d)
	}
}

func TestCreateToolRequests(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	h.publish("pair", "1.0.0", "free", echoVariant(t, "pair", "left", "right"))
	_, key := h.customer("free")
	srv := h.server(key, "s")
	path := "/api/v1/servers/" + srv.ID + "/tools"
	lib := map[string]any{"name": "pair"}

	if msg := h.do("POST", path, key, map[string]any{"library": lib}).want(t, 422).errorMessage(t); !strings.Contains(msg, "left, right") {
		t.Fatalf("a module with two tools and no choice: %q", msg)
	}
	var tool struct {
		Name    string
		Current struct {
			ModuleTool string `json:"module_tool"`
		}
	}
	h.do("POST", path, key, map[string]any{"library": lib, "tool": "right"}).want(t, 201).decode(t, &tool)
	if tool.Name != "right" || tool.Current.ModuleTool != "right" {
		t.Fatalf("tool %+v", tool)
	}
	h.do("POST", path, key, map[string]any{"library": lib, "tool": "right"}).want(t, 409)
	h.do("POST", path, key, map[string]any{"library": lib, "tool": "middle"}).want(t, 422)
	h.do("POST", path, key, map[string]any{}).want(t, 400)
	h.do("POST", path, key, map[string]any{"library": lib, "files": map[string]string{"main.go": "package main"}}).want(t, 400)
	h.do("POST", path, key, map[string]any{"library": lib, "tool": "left", "name": "bad name"}).want(t, 400)
	h.do("POST", path, key, map[string]any{"library": map[string]any{"name": "Pair!"}}).want(t, 400)
	h.do("POST", path, key, map[string]any{"files": map[string]string{}}).want(t, 422)
	h.do("POST", path, key, map[string]any{"files": map[string]string{"../main.go": "package main"}}).want(t, 422)
	h.do("POST", "/api/v1/servers/srv_nope/tools", key, map[string]any{"library": lib}).want(t, 404)
}

// TestToolSourceThatPanics: source that builds but crashes when asked to
// describe itself is the author's problem: a 422, not a 500.
func TestToolSourceThatPanics(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	_, key := h.customer("free")
	srv := h.server(key, "s")
	for _, src := range []string{
		"package main\n\nfunc main() { panic(\"boom\") }\n",
		"package main\n\nfunc main() {}\n",
	} {
		msg := h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{
			"files": map[string]string{"main.go": src},
		}).want(t, 422).errorMessage(t)
		if !strings.Contains(msg, "describe") {
			t.Errorf("message %q", msg)
		}
	}
}
