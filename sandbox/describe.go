package sandbox

import (
	"bytes"
	"context"
	"fmt"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

// DescribeTool is the reserved tool name of the build-time describe call
// (toolkits/ABI.md): a toolkit answers it with the module's manifest.
const DescribeTool = "kiln:describe"

// Describe runs a freshly built module, which has no manifest section yet,
// with the describe call and returns the manifest it reports. Builders embed
// that manifest with manifest.Embed. The module passes the checks of Load
// and runs as a call does, under lim and the engine's admission control.
func (e *Engine) Describe(ctx context.Context, wasm []byte, lim Limits) ([]byte, error) {
	if err := lim.validate(); err != nil {
		return nil, err
	}
	if _, found, err := manifest.Extract(wasm); err != nil || found {
		return nil, badModule("describe needs a module without a %s section", manifest.SectionName)
	}
	// Not plain: the module may import kiln, to answer with kiln.result.
	// Interpreted: these bytes run once and are never deployed (Load gets
	// them with the manifest embedded, which changes their hash), so
	// compiling them would be wasted; the interpreter needs a fraction of
	// the compiler's time for one call.
	m, err := e.load(ctx, wasm, &manifest.Manifest{ABI: manifest.ABIVersion, Tools: []manifest.Tool{{Name: DescribeTool}}}, true)
	if err != nil {
		return nil, err
	}
	state := &callState{limits: lim, logs: logSink{budget: lim.LogBytes}, oneOff: true, epoch: e.epoch}
	cfg, _ := moduleConfig(m, DescribeTool, nil, nil, state)
	x, err := e.run(ctx, m, cfg, state)
	if err != nil {
		return nil, fmt.Errorf("sandbox: describing the module: %w", err)
	}
	if outcome, detail := classify(x, state); outcome != OutcomeOK {
		return nil, fmt.Errorf("sandbox: describing the module: %s (%s): %s", outcome, detail, bytes.TrimSpace(state.logs.console.Bytes()))
	}
	if !state.resultSet {
		return nil, badModule("it did not answer the describe call with kiln.result")
	}
	return state.result, nil
}
