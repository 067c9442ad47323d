package testmodules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// MCPClientDir holds the TypeScript MCP SDK client (client.mjs) with its
// pinned package.json and package-lock.json.
const MCPClientDir = "pkg/mcphost/testdata/js"

// NodeModules installs dir (relative to Root, with package.json and
// package-lock.json) with `npm ci`, once per lockfile, in the user's cache
// directory, and returns the directory holding node_modules. Without npm
// the test is skipped, except in CI (CI set), where it fails: a machine
// without npm cannot pass as green. -short skips too, outside CI.
func NodeModules(t testing.TB, dir string) string {
	t.Helper()
	for _, tool := range []string{"npm", "npx"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI for the Node-based MCP tests: %v", tool, err)
			}
			t.Skipf("%s is not installed; the Node-based MCP tests are skipped (they run in CI)", tool)
		}
	}
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: the Node-based MCP tests are skipped")
	}
	src := filepath.Join(Root(), dir)
	manifest, lock := readFile(t, filepath.Join(src, "package.json")), readFile(t, filepath.Join(src, "package-lock.json"))
	sum := sha256.Sum256(append(manifest, lock...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	// The same place as pkg/mcphost's tests use, so one install serves both.
	target := filepath.Join(cache, "kiln-mcphost-js", hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(target, "node_modules", ".package-lock.json")); err == nil {
		return target
	}
	npmInstall(t, target, manifest, lock)
	return target
}

// npmInstall runs npm ci next to target and renames the result into place,
// so a concurrent test binary never sees half an install.
func npmInstall(t testing.TB, target string, manifest, lock []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(target), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, data := range map[string][]byte{"package.json": manifest, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, target); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, statErr := os.Stat(target); statErr != nil { // lost a race: fine if the winner is there
			t.Fatal(err)
		}
	}
}

// NodeCommand runs a program from modules' node_modules/.bin (or node
// itself) with that directory first on PATH.
func NodeCommand(ctx context.Context, modules, name string, args ...string) *exec.Cmd {
	bin := filepath.Join(modules, "node_modules", ".bin")
	path := name
	if _, err := os.Stat(filepath.Join(bin, name)); err == nil {
		path = filepath.Join(bin, name)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = modules
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return cmd
}

// MCPClient runs the TypeScript SDK client (MCPClientDir/client.mjs)
// against url with key, calling each tool with its arguments (pairs of
// name, JSON), and returns its output: one JSON line for the listing, one
// per call.
func MCPClient(t testing.TB, url, key string, calls ...string) []byte {
	t.Helper()
	out, err := NodeScript(t, "client.mjs", append([]string{url, key}, calls...)...)
	if err != nil {
		t.Fatalf("the TypeScript client failed: %v", err)
	}
	return out
}

// NodeScript runs one of MCPClientDir's scripts with args under Node, for
// at most two minutes, and returns its combined output (logged too). The
// script imports from node_modules, which lives in the cache directory, so
// a copy runs there.
func NodeScript(t testing.TB, script string, args ...string) ([]byte, error) {
	t.Helper()
	modules := NodeModules(t, MCPClientDir)
	local := filepath.Join(modules, script)
	if err := os.WriteFile(local, readFile(t, filepath.Join(Root(), MCPClientDir, script)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := NodeCommand(ctx, modules, "node", append([]string{local}, args...)...).CombinedOutput()
	t.Logf("node %s:\n%s", script, out)
	return out, err
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
