package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// internalEngine is an engine with a cache directory of its own.
func internalEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := NewEngine(context.Background(), Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e
}

func echoModule(t *testing.T) []byte {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "toolkits", "wat", "echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// TestArtifactKeyAfterCancelledContext: the first caller to need the
// native cache's facts has a cancelled context; the cache still works for
// it and for everyone after (learning them is once per process).
func TestArtifactKeyAfterCancelledContext(t *testing.T) {
	e := internalEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &Module{Hash: strings.Repeat("a", 64)}
	for _, c := range []context.Context{ctx, context.Background()} {
		key, err := e.ArtifactKey(c, m)
		if err != nil || key.CPU == "" || key.WazeroVersion == "" {
			t.Fatalf("artifact key: %+v, %v", key, err)
		}
	}
}

// TestCompileHostFailureIsNotBadModule: when wazero cannot write its cache
// (here its directory is a file), the compile fails as the host's fault:
// not a BadModuleError, so the module is not kept off the compiler for
// good. A module the compiler refuses still is one.
func TestCompileHostFailureIsNotBadModule(t *testing.T) {
	e := internalEngine(t)
	ctx := context.Background()
	resume := e.HoldCompiles()
	m, err := e.Load(ctx, echoModule(t))
	if err != nil {
		resume()
		t.Fatal(err)
	}
	if err := e.native.learn(e); err != nil {
		resume()
		t.Fatal(err)
	}
	sub := filepath.Join(e.disk.dir, e.native.sub)
	if err := errors.Join(os.RemoveAll(sub), os.WriteFile(sub, nil, 0o600)); err != nil {
		resume()
		t.Fatal(err)
	}
	_, err = e.compileNow(ctx, m)
	var bad *BadModuleError
	if err == nil || errors.As(err, &bad) {
		resume()
		t.Fatalf("compile with a broken cache: %v; want a host failure, not a bad module", err)
	}
	resume()
	if err := e.WaitCompiled(ctx, m); err != nil {
		t.Fatal(err)
	}
	e.tiers.mu.Lock()
	failed := e.tiers.failed[m.code]
	e.tiers.mu.Unlock()
	if failed {
		t.Fatal("a host failure marked the module as one the compiler refuses")
	}
	if err := compileError(ctx, errors.New("invalid function body")); !errors.As(err, &bad) {
		t.Fatalf("the compiler's refusal: %v; want a BadModuleError", err)
	}
}

// TestNoCompileStartsAfterClose: once Close has begun, compileLater starts
// nothing (its WaitGroup is being waited), and a worker with an ended
// context does not take a free slot.
func TestNoCompileStartsAfterClose(t *testing.T) {
	e, err := NewEngine(context.Background(), Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	resume := e.HoldCompiles()
	m, err := e.Load(context.Background(), echoModule(t))
	resume()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WaitCompiled(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.tiers.mu.Lock()
	delete(e.tiers.failed, m.code)
	e.tiers.mu.Unlock()
	e.compileLater(&Module{code: "after-close", wasm: m.wasm, Hash: m.Hash})
	e.tiers.mu.Lock()
	_, started := e.tiers.pending["after-close"]
	e.tiers.mu.Unlock()
	if started {
		t.Fatal("a background compile started after Close")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 100 { // select alone would take the free slot about half the time
		if err := e.acquireSlot(ctx); err == nil {
			t.Fatal("took a compile slot with an ended context")
		}
	}
}
