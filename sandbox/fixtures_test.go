package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// TestWATFixturesAreUpToDate rebuilds every checked-in .wasm from its .wat
// (and .manifest.json) so the binaries can never drift from their source.
// The binaries are checked in so that `go test` needs no wabt; CI installs
// wabt and sets CI=true, which makes this test mandatory there.
func TestWATFixturesAreUpToDate(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wat2wasm (Debian package wabt) is required in CI")
		}
		t.Skip("wat2wasm not installed (apt-get install wabt); checked in CI")
	}
	var sources []string
	for _, dir := range []string{"sandbox/testdata/wat", "toolkits/wat"} {
		found, err := filepath.Glob(filepath.Join(testmodules.Root(), dir, "*.wat"))
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, found...)
	}
	if len(sources) < 10 {
		t.Fatalf("found only %d .wat sources", len(sources))
	}
	for _, src := range sources {
		base := strings.TrimSuffix(src, ".wat")
		raw := filepath.Join(t.TempDir(), "raw.wasm")
		if out, err := exec.Command(wat2wasm, src, "-o", raw).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", src, err, out)
		}
		want, err := os.ReadFile(raw)
		if err != nil {
			t.Fatal(err)
		}
		if payload, err := os.ReadFile(base + ".manifest.json"); err == nil {
			if want, err = manifest.Embed(want, payload); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(base + ".wasm")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s.wasm is stale: run `task wat`", base)
		}
	}
}

// FuzzLoad: no byte string makes Load panic the host, and whatever Load
// accepts goes through every path that instantiates a module, a call and
// the describe run (of the module without its manifest section), without
// a panic. Small limits keep each input cheap.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"toolkits/wat/echo.wasm", "sandbox/testdata/wat/plainjson.wasm", "sandbox/testdata/wat/grow.wasm",
		"sandbox/testdata/wat/hugememory.wasm", "sandbox/testdata/wat/tablegrow.wasm", "sandbox/testdata/wat/randloop.wasm",
		"sandbox/testdata/wat/startloop.wasm"} {
		f.Add(testmodules.WAT(f, p))
	}
	e := newEngine(f, sandbox.Config{MaxCompiled: 4})
	lim := limits()
	lim.Timeout /= 20
	lim.Fuel = 20_000_000
	lim.Memory = 16 << 20
	f.Fuzz(func(t *testing.T, wasm []byte) {
		ctx := context.Background()
		m, err := e.Load(ctx, wasm)
		if err != nil {
			return
		}
		if _, err := e.Call(ctx, m, sandbox.Request{Tool: m.Manifest.Tools[0].Name, Limits: lim}); err != nil {
			t.Fatalf("Call on a loaded module: %v", err)
		}
		// Any error is an answer; only a panic fails.
		_, _ = e.Describe(ctx, mustStrip(t, wasm), lim)
	})
}
