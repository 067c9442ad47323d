package sandbox

import (
	"bytes"
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"

	"github.com/kilnhq/kiln/sandbox/fuel"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// DescribeTool is the reserved tool name of the build-time describe call
// (toolkits/ABI.md): a toolkit answers it with the module's manifest.
const DescribeTool = "kiln:describe"

// Describe runs a freshly built module, which has no manifest section yet,
// with the describe call and returns the manifest it reports. Builders embed
// that manifest with manifest.Embed.
func (e *Engine) Describe(ctx context.Context, wasm []byte, lim Limits) ([]byte, error) {
	if err := lim.validate(); err != nil {
		return nil, err
	}
	if _, found, err := manifest.Extract(wasm); err != nil || found {
		return nil, badModule("describe needs a module without a %s section", manifest.SectionName)
	}
	metered, err := fuel.Instrument(wasm, fuel.Options{MaxMemoryPages: e.maxPages})
	if err != nil {
		return nil, &BadModuleError{Err: err}
	}
	compiled, err := e.rt.CompileModule(ctx, metered)
	if err != nil {
		return nil, badModule("it does not compile: %v", err)
	}
	defer compiled.Close(ctx)
	state := &callState{limits: lim, logs: logSink{budget: lim.LogBytes}}
	cfg := wazero.NewModuleConfig().WithName("").WithArgs(DescribeTool).
		WithStdin(bytes.NewReader(nil)).WithStdout(&state.logs).WithStderr(&state.logs)
	var res Result
	mem, runErr := e.run(ctx, compiled, cfg, state, &res)
	if outcome, detail := classify(runErr, mem, state); outcome != OutcomeOK {
		return nil, fmt.Errorf("sandbox: describing the module: %s (%s): %s", outcome, detail, bytes.TrimSpace(state.logs.console.Bytes()))
	}
	if !state.resultSet {
		return nil, badModule("it did not answer the describe call with kiln.result")
	}
	return state.result, nil
}
