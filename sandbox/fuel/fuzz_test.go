package fuel_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

// FuzzInstrument: no input makes Instrument panic, and the instrumented form
// of every module wazero compiles compiles too. (The converse, that no
// invalid module becomes valid, is what the spec suite's assert_invalid
// cases show; here wazero quirks, such as refusing an empty custom section
// at the very end of a module, would make it fail spuriously.) wazero is consulted only for inputs Instrument accepted, because
// Instrument bounds every count by the bytes present, while wazero's own
// decoder allocates counts up front and can exhaust memory on forged ones.
// (That Instrument accepts every valid module is shown by the spec suite.)
func FuzzInstrument(f *testing.F) {
	for _, dir := range []string{"../testdata/wat", "../../toolkits/wat"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
		for _, p := range paths {
			wasm, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(wasm)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCoreFeatures(api.CoreFeaturesV2))
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := fuel.Instrument(wasm, fuel.Options{MaxMemoryPages: 1 << 14, MaxTableElements: 1 << 18})
		if err != nil {
			return
		}
		raw, rawErr := rt.CompileModule(ctx, wasm)
		metered, meteredErr := rt.CompileModule(ctx, out)
		if rawErr != nil {
			return
		}
		raw.Close(ctx)
		if meteredErr != nil {
			t.Fatalf("the instrumented form of a valid module does not compile: %v", meteredErr)
		}
		metered.Close(ctx)
	})
}
