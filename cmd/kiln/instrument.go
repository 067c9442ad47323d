package main

import (
	"fmt"
	"os"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

func runInstrument(env *environment, args []string) int {
	fs := newFlagSet(env, "instrument", "IN.wasm -o OUT.wasm",
		"Rewrites a module with fuel metering (see sandbox/fuel): a fuel counter,\ncharges on every straight-line segment, and a refuel check at function\nentries and loop headers. The sandbox does this itself when it loads a\nmodule; this command is for inspecting the result. It refuses any\ninstruction or section it does not fully understand.")
	out := fs.String("o", "", "output file (required)")
	maxMemory := byteSize(0)
	fs.Var(&maxMemory, "max-memory", "cap the module's memory maximum, such as 256MiB (default: leave it)")
	pos, status, ok := parseExact(env, fs, args, 1)
	if !ok {
		return status
	}
	if *out == "" {
		fmt.Fprintln(env.stderr, "kiln instrument: -o is required")
		return exitUsage
	}
	wasm, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln instrument:", err)
		return exitFailed
	}
	metered, err := fuel.Instrument(wasm, fuel.Options{MaxMemoryPages: uint32(min(uint64(maxMemory)/(64<<10), 1<<16))})
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln instrument: %s: %v\n", pos[0], err)
		return exitFailed
	}
	if err := os.WriteFile(*out, metered, 0o644); err != nil {
		fmt.Fprintln(env.stderr, "kiln instrument:", err)
		return exitFailed
	}
	fmt.Fprintf(env.stderr, "kiln instrument: wrote %s (%d bytes, instrumenter v%d)\n", *out, len(metered), fuel.Version)
	return exitOK
}
