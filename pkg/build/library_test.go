package build_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

// TestLibraryModulesBuildAndRun builds every curated library module with
// the real pipeline (offline go build, describe, manifest) and calls one of
// its tools in the sandbox, so a module that only passes its native tests
// but not the Wasm path is caught.
func TestLibraryModulesBuildAndRun(t *testing.T) {
	if testing.Short() {
		// Five real builds and their compiles: minutes under the race
		// detector, which CI runs with -short. The plain run covers it.
		t.Skip("builds every library module; skipped with -short")
	}
	var builds testmodules.Builds
	engine, err := sandbox.NewEngine(context.Background(), sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(context.Background())
	for _, tc := range []struct{ module, tool, args, want string }{
		{"text", "slugify", `{"text":"Crème Brûlée à la Mode"}`, "creme-brulee-a-la-mode"},
		{"timezone", "convert_time", `{"time":"2026-01-15T12:00:00Z","to":["Asia/Tokyo"]}`, "2026-01-15T21:00:00+09:00"},
		{"units", "convert_units", `{"value":1,"from":"mile","to":"km"}`, "1.609344"},
		{"csvjson", "csv_to_json", `{"csv":"a,b\n1,2\n"}`, `"a"`},
		{"httpjson", "json_select", `{"document":{"items":[{"id":7}]},"path":"$.items[0].id"}`, "7"},
	} {
		t.Run(tc.module, func(t *testing.T) {
			m, err := engine.Load(context.Background(), builds.Go(t, "toolkits/library/"+tc.module))
			if err != nil {
				t.Fatal(err)
			}
			res, err := engine.Call(context.Background(), m, sandbox.Request{Tool: tc.tool, Args: []byte(tc.args), Limits: sandbox.DefaultLimits()})
			if err != nil {
				t.Fatal(err)
			}
			out := res.Answer.Document
			if res.Outcome != sandbox.OutcomeOK || !strings.Contains(string(out), tc.want) {
				t.Fatalf("%s: %v %s: %s", tc.tool, res.Outcome, res.Detail, out)
			}
		})
	}
}
