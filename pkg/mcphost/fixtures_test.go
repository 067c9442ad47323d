package mcphost_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// TestWATFixtureIsUpToDate rebuilds testdata/wat/conformance.wasm from its
// .wat and .manifest.json. The binary is checked in so that `go test`
// needs no wabt; in CI (CI set) wat2wasm is required.
func TestWATFixtureIsUpToDate(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wat2wasm (Debian package wabt) is required in CI")
		}
		t.Skip("wat2wasm not installed (apt-get install wabt); checked in CI")
	}
	base := filepath.Join(testmodules.Root(), "pkg/mcphost/testdata/wat/conformance")
	raw := filepath.Join(t.TempDir(), "raw.wasm")
	if out, err := exec.Command(wat2wasm, base+".wat", "-o", raw).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
	wasm, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(base + ".manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := manifest.Embed(wasm, payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := conformanceWATModule(t); !bytes.Equal(got, want) {
		t.Fatal("testdata/wat/conformance.wasm is stale: wat2wasm conformance.wat, then kiln embed it with conformance.manifest.json")
	}
}

// TestBrokenToolDoesNotTakeTheServerDown: a tool whose schema does not
// resolve is not served (AddTool would panic on what it cannot handle, so
// schemas are checked first); Deploy says which and why, and the server's
// other tools are served.
func TestBrokenToolDoesNotTakeTheServerDown(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	broken, err := manifest.Embed(conformanceWATModule(t), []byte(`{"abi":1,"tools":[
		{"name":"test_embedded_resource","inputSchema":{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	e.addTool(srv.ID, toolSpec{"broken", "test_embedded_resource", broken})
	err = e.host.Deploy(context.Background(), srv.ID)
	var de *mcphost.DeployError
	if !errors.As(err, &de) || de.Tools["broken"] == nil || !strings.Contains(err.Error(), "does not resolve") {
		t.Fatalf("deploy: %v", err)
	}
	if names := toolNames(t, connect(t, e.url(srv.ID), srv.key)); len(names) != 1 || names[0] != "echo" {
		t.Fatalf("served %v", names)
	}
}
