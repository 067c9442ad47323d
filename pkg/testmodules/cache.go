package testmodules

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// ModuleCache is a sandbox CacheDir shared by the engines of one test
// binary: each fixture is then instrumented and compiled once per binary
// instead of once per test, which is most of a package's time under the
// race detector. Its directory is removed by Run, from the package's
// TestMain:
//
//	var modules testmodules.ModuleCache
//
//	func TestMain(m *testing.M) { os.Exit(modules.Run(m)) }
//
// Tests about the cache itself use a directory of their own.
type ModuleCache struct {
	mu  sync.Mutex
	dir string
}

// Dir returns the shared directory, made on first use.
func (c *ModuleCache) Dir(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "kiln-test-modules-")
		if err != nil {
			t.Fatalf("making the shared module cache: %v", err)
		}
		c.dir = dir
	}
	return c.dir
}

// Run runs the tests and then removes the directory; its result is the
// exit status for os.Exit.
func (c *ModuleCache) Run(m *testing.M) int {
	code := m.Run()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			fmt.Fprintln(os.Stderr, "removing the shared module cache:", err)
			return 1
		}
	}
	return code
}
