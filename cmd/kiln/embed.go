package main

import (
	"fmt"
	"os"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

func runEmbed(env *environment, args []string) int {
	fs := newFlagSet(env, "embed", "module.wasm manifest.json -o tool.wasm",
		"Validates a manifest (toolkits/ABI.md) and writes a copy of the module with\nthe manifest in its kiln.manifest section, replacing any it had. This is how\nmodules built without the Go toolkit (C, Rust, WAT...) describe their tools.")
	out := fs.String("o", "", "output file (required)")
	pos, status, ok := parseExact(env, fs, args, 2)
	if !ok {
		return status
	}
	if *out == "" {
		fmt.Fprintln(env.stderr, "kiln embed: -o is required")
		return exitUsage
	}
	wasm, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln embed:", err)
		return exitFailed
	}
	payload, err := os.ReadFile(pos[1])
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln embed:", err)
		return exitFailed
	}
	if _, err := manifest.Parse(payload); err != nil {
		fmt.Fprintf(env.stderr, "kiln embed: %s: %v\n", pos[1], err)
		return exitFailed
	}
	embedded, err := manifest.Embed(wasm, payload)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln embed: %s: %v\n", pos[0], err)
		return exitFailed
	}
	if err := os.WriteFile(*out, embedded, 0o644); err != nil {
		fmt.Fprintln(env.stderr, "kiln embed:", err)
		return exitFailed
	}
	return exitOK
}
