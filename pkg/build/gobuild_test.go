package build_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

func newBuilder(t *testing.T) *build.GoBuilder {
	t.Helper()
	engine, err := sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: modules.Dir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	// The developer's GOCACHE is shared with other work: never trim it.
	return &build.GoBuilder{Engine: engine, GoCache: testmodules.GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
}

const goodTool = `package main

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

func TestBuildEmbedsTheManifest(t *testing.T) {
	wasm, err := newBuilder(t).Build(context.Background(), map[string][]byte{"main.go": []byte(goodTool)})
	if err != nil {
		t.Fatal(err)
	}
	payload, found, err := manifest.Extract(wasm)
	if err != nil || !found {
		t.Fatalf("no manifest: %v", err)
	}
	m, err := manifest.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tools) != 1 || m.Tools[0].Name != "double" || m.Tools[0].Description != "Doubles n" {
		t.Fatalf("manifest = %+v", m)
	}
}

func TestBrokenSourceReturnsTheCompilerMessage(t *testing.T) {
	src := strings.Replace(goodTool, "return 2 * v.N, nil", "return 2 * v.M, nil", 1)
	_, err := newBuilder(t).Build(context.Background(), map[string][]byte{"main.go": []byte(src)})
	var buildErr *build.Error
	if !errors.As(err, &buildErr) {
		t.Fatalf("err = %v, want a build.Error", err)
	}
	if !strings.Contains(buildErr.Output, "main.go:13:") || !strings.Contains(buildErr.Output, "v.M undefined") {
		t.Fatalf("output does not point at the mistake:\n%s", buildErr.Output)
	}
	if strings.Contains(buildErr.Output, os.TempDir()) {
		t.Errorf("output leaks the temporary path:\n%s", buildErr.Output)
	}
}

func TestBuildIsOffline(t *testing.T) {
	src := strings.Replace(goodTool, `"context"`, "\"context\"\n\t_ \"github.com/google/uuid\"", 1)
	_, err := newBuilder(t).Build(context.Background(), map[string][]byte{"main.go": []byte(src)})
	var buildErr *build.Error
	if !errors.As(err, &buildErr) || !strings.Contains(buildErr.Output, "github.com/google/uuid") {
		t.Fatalf("err = %v", err)
	}
}

func TestToolWithoutKilnRunIsRefused(t *testing.T) {
	src := "package main\n\nfunc main() {}\n"
	_, err := newBuilder(t).Build(context.Background(), map[string][]byte{"main.go": []byte(src)})
	if err == nil || !strings.Contains(err.Error(), "kiln.Run") {
		t.Fatalf("err = %v", err)
	}
}

func TestSourceLimits(t *testing.T) {
	many := map[string][]byte{}
	for i := range build.MaxSourceFiles + 1 {
		many[string(rune('a'+i%26))+strings.Repeat("x", i)+".go"] = []byte("package main\n")
	}
	for name, files := range map[string]map[string][]byte{
		"no files":       {},
		"too many files": many,
		"too large":      {"main.go": make([]byte, build.MaxSourceBytes+1)},
		"path traversal": {"../main.go": []byte(goodTool)},
		"not go":         {"main.c": []byte("int main(){}")},
	} {
		_, err := newBuilder(t).Build(context.Background(), files)
		var srcErr *build.SourceError
		if !errors.As(err, &srcErr) {
			t.Errorf("%s: err = %v, want a SourceError", name, err)
		}
	}
}

func TestTimedOutBuildCleansUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	b := newBuilder(t)
	b.Timeout = 50 * time.Millisecond
	b.GoCache = t.TempDir() // cold: the standard library alone takes far longer
	_, err := b.Build(context.Background(), map[string][]byte{"main.go": []byte(goodTool)})
	if err == nil || !strings.Contains(err.Error(), "did not finish within 50ms") {
		t.Fatalf("err = %v", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("the build left %d entries in TMPDIR", len(entries))
	}
}
