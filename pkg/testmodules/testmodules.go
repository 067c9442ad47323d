// Package testmodules builds and loads the Wasm modules tests run: Go
// sources built once per test binary with the real toolchain, and the
// checked-in WAT fixtures.
package testmodules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/sandbox"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// GoCache returns the developer's GOCACHE so repeated runs build quickly.
func GoCache(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Builds caches the modules built from Go source, keyed by directory.
type Builds struct {
	mu    sync.Mutex
	built map[string][]byte
}

// Go builds the Go tool in dir (relative to the repository root) once.
func (b *Builds) Go(t testing.TB, dir string) []byte {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if wasm, ok := b.built[dir]; ok {
		return wasm
	}
	ctx := context.Background()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(ctx)
	// The developer's GOCACHE is shared with other work: never trim it.
	builder := &build.GoBuilder{Engine: engine, GoCache: GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
	wasm, err := builder.BuildDir(ctx, filepath.Join(Root(), dir))
	if err != nil {
		t.Fatalf("building %s: %v", dir, err)
	}
	if b.built == nil {
		b.built = map[string][]byte{}
	}
	b.built[dir] = wasm
	return wasm
}

// WAT reads a checked-in fixture, such as "sandbox/testdata/wat/spin.wasm".
func WAT(t testing.TB, path string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join(Root(), path))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
