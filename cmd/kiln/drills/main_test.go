// Package drills runs failure drills against real `kiln serve` processes
// on 127.0.0.1: a SIGTERM drain, three nodes behind HAProxy on one
// PostgreSQL, kill -9 of a node mid-call and mid-build, a PostgreSQL
// restart under load, Redis going away, and a soak. Each asserts that
// nothing answered is lost and bounds the recovery.
//
// It is a package of its own under cmd/kiln because what it tests is the
// binary, as an operator runs it (signals, exit status, several processes
// on one database), not pkg/service's wiring in process, which servicetest
// covers; and so that its minutes stay out of cmd/kiln's unit tests. It
// has test files only, so it adds no layer (cmd/kiln/layers_test.go).
//
// The kiln binary is built once in TestMain, the fixture module once per
// binary (testmodules, with the developer's GOCACHE). The drills that need
// several processes run when KILN_DRILLS=1 (CI's "drills" step, `task
// drills`); the drain drill always runs.
package drills

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kilnhq/kiln/pkg/testmodules"
)

// kilnBin is the binary TestMain built; builds caches the fixture module.
var (
	kilnBin string
	builds  testmodules.Builds
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kiln-drills-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "drills:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	kilnBin = filepath.Join(dir, "kiln")
	build := exec.Command("go", "build", "-o", kilnBin, "./cmd/kiln")
	build.Dir = testmodules.Root()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "drills: building kiln:", err)
		return 1
	}
	return m.Run()
}

// toolModule is the fixture module (testdata/tool): tools echo and wait.
func toolModule(t testing.TB) []byte { return builds.Go(t, "cmd/kiln/drills/testdata/tool") }

// heavy skips a drill of several processes unless KILN_DRILLS=1.
func heavy(t *testing.T) {
	t.Helper()
	if os.Getenv("KILN_DRILLS") != "1" {
		t.Skip("a failure drill of several processes: run with KILN_DRILLS=1 (task drills)")
	}
}

// need finds a program a drill runs, failing in CI (CI set) and skipping
// elsewhere when it is missing.
func need(t *testing.T, name string, dirs ...string) string {
	t.Helper()
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI (.ci/run installs it)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
