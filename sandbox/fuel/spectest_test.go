package fuel_test

// Differential test of the fuel instrumenter against the WebAssembly spec
// test suite shipped in the wazero module (DESIGN.md, "Fuel"; issue 3,
// "Evidence required"). See spectest_harness_test.go for how each command of
// a wast2json script is run in a raw and an instrumented world.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

// specInstrument is the one function the spec harness calls to instrument a
// module. Keep it in sync with how the sandbox instruments (options included).
// MaxMemoryPages stays 0: capping the memory would change what memory.grow
// returns in the suite's memory tests.
func specInstrument(wasm []byte) ([]byte, error) {
	return fuel.Instrument(wasm, fuel.Options{})
}

// -spec.identity runs the differential test with the identity instrumenter,
// which checks the harness alone (e.g. while the rewriter is broken):
//
//	go test ./sandbox/fuel/ -run Spec -args -spec.identity
var specIdentity = flag.Bool("spec.identity", false, "spec differential test: use the identity instrumenter")

func specIdentityInstrument(wasm []byte) ([]byte, error) { return append([]byte(nil), wasm...), nil }

const specWazeroModulePath = "github.com/tetratelabs/wazero"

// wazeroDir locates the wazero module's source directory: `go list -m`,
// falling back to the build info and the module cache.
func specWazeroDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", specWazeroModulePath).Output()
	if err == nil {
		if dir := strings.TrimSpace(string(out)); dir != "" {
			return dir, nil
		}
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("go list failed and no build info")
	}
	version := ""
	for _, d := range bi.Deps {
		if d.Path == specWazeroModulePath {
			version = d.Version
			if d.Replace != nil {
				if filepath.IsAbs(d.Replace.Path) {
					return d.Replace.Path, nil
				}
				version = d.Replace.Version
			}
		}
	}
	if version == "" {
		return "", errors.New("wazero not in build info")
	}
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		caches = append(caches, strings.TrimSpace(string(out)))
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		caches = append(caches, filepath.Join(p, "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, c := range caches {
		dir := filepath.Join(c, "github.com", "tetratelabs", "wazero@"+version)
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, nil
		}
	}
	return "", errors.New("wazero " + version + " not found in module caches " + strings.Join(caches, ", "))
}

func TestSpecDifferential(t *testing.T) {
	start := time.Now()
	dir, err := specWazeroDir()
	if err != nil {
		t.Fatalf("locating the wazero module: %v", err)
	}
	suites := []struct {
		name     string
		features api.CoreFeatures
	}{
		{"v1", api.CoreFeaturesV1},
		{"v2", api.CoreFeaturesV2},
	}
	instrument := specInstrumentFunc(specInstrument)
	if *specIdentity {
		t.Log("-spec.identity: instrumenting with the identity function")
		instrument = specIdentityInstrument
	}
	total := newSpecStats()
	var mu sync.Mutex
	t.Run("suite", func(t *testing.T) {
		for _, s := range suites {
			root := filepath.Join(dir, "internal", "integration_test", "spectest", s.name, "testdata")
			files, err := filepath.Glob(filepath.Join(root, "*.json"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no spec test JSON files in %s (err %v)", root, err)
			}
			sort.Strings(files)
			fsys := os.DirFS(root)
			for _, f := range files {
				name := filepath.Base(f)
				t.Run(s.name+"/"+strings.TrimSuffix(name, ".json"), func(t *testing.T) {
					t.Parallel()
					stats, failures := runSpecScript(fsys, name, s.features, instrument)
					for _, f := range failures {
						t.Error(f)
					}
					if len(failures) > 0 {
						specFailedFilesM.Lock()
						specFailedFiles = append(specFailedFiles, s.name+"/"+name)
						specFailedFilesM.Unlock()
					}
					t.Logf("%s", stats)
					mu.Lock()
					total.add(stats)
					mu.Unlock()
				})
			}
		}
	})
	elapsed := time.Since(start).Round(time.Millisecond)
	t.Logf("spec suite (%s) in %v", dir, elapsed)
	t.Logf("SUMMARY %s", total)
	specSummary = fmt.Sprintf("wazero spec suite v1+v2 in %v: %s", elapsed, total)
	if total.Files == 0 || total.Ran["module"] == 0 || total.Ran["assert_return(invoke)"] == 0 {
		t.Fatalf("nothing ran: %s", total)
	}
}

// specSummary is set by TestSpecDifferential and repeated by TestSpecSummary,
// which runs after it, so that the summary is the last thing `go test -v`
// prints rather than being buried above the per-file subtests.
var (
	specSummary      string
	specFailedFiles  []string
	specFailedFilesM sync.Mutex
)

func TestSpecSummary(t *testing.T) {
	if specSummary == "" {
		t.Skip("TestSpecDifferential did not run (filtered out?), so there is nothing to summarize")
	}
	specFailedFilesM.Lock()
	defer specFailedFilesM.Unlock()
	sort.Strings(specFailedFiles)
	if len(specFailedFiles) > 0 {
		t.Logf("FAILED scripts (%d): %s", len(specFailedFiles), strings.Join(specFailedFiles, " "))
	}
	t.Logf("SUMMARY %s", specSummary)
}
