package main

import (
	"os/exec"
	"strings"
	"testing"
)

// layers is ARCHITECTURE.md's dependency rule as data: a package may import
// only packages of a lower layer, never one of its own layer or above. A
// new package must be given a layer here, or the test fails.
var layers = map[string]int{
	// Leaves: formats, primitives and guards with no Kiln dependencies
	// beyond their own layer's rule.
	"schema":                0,
	"toolkits/go/kiln":      0,
	"toolkits/go":           0,
	"sandbox/manifest":      0,
	"sandbox/schemacheck":   0,
	"sandbox/fuel":          0,
	"sandbox/egress":        0,
	"pkg/auth":              0,
	"pkg/secrets":           0,
	"pkg/ratelimit":         0,
	"pkg/internal/rowcache": 0,
	// Benchmark measurement, shared with the bench/extism module: MCP only.
	"bench/mcpload":       0,
	"pkg/signing":         1,
	"pkg/config":          2,
	"sandbox":             1,
	"pkg/store":           1,
	"pkg/llm":             1,
	"pkg/llm/llmtest":     2,
	"pkg/store/storetest": 2,
	"pkg/tier":            2,
	"pkg/apikey":          2,
	"pkg/websession":      2,
	"pkg/build":           2,
	"pkg/wizard":          4,
	"pkg/testmodules":     3,
	// The development library: build, sign, register (over build and store).
	"pkg/devlibrary": 3,
	// The eval's scripted LLM (over llmtest), and the eval on the wizard.
	"pkg/wizard/eval/evalfake": 3,
	"pkg/wizard/eval":          5,
	// Domain services: neither imports the other.
	"pkg/mcphost": 4,
	"pkg/oauth":   4,
	"pkg/api":     5,
	// The browser front end: beside the API, which it calls over HTTP
	// from the browser, never in process.
	"pkg/web": 5,
	// The wiring of a whole node, and its test helper.
	"pkg/service":             6,
	"pkg/service/servicetest": 7,
	"cmd/kiln":                7,
}

const module = "github.com/kilnhq/kiln/"

// layerOf returns the layer of a Kiln package: its own entry or that of the
// nearest listed parent (internal packages share their parent's layer).
func layerOf(pkg string) (int, bool) {
	for p := pkg; p != ""; {
		if l, ok := layers[p]; ok {
			return l, true
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0, false
}

// TestLayers fails when a package imports one of its own layer or above.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if strings.HasPrefix(pkg, "toolkits/") {
			continue // guest code, built for wasip1: not part of the service's layers
		}
		from, ok := layerOf(pkg)
		if !ok {
			t.Errorf("%s has no layer: add it to layers in cmd/kiln/layers_test.go and to ARCHITECTURE.md", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			to, ok := layerOf(dep)
			if ok && to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports go down the layers only", pkg, from, dep, to)
			}
		}
	}
}
