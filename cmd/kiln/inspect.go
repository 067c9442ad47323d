package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

func runInspect(env *environment, args []string) int {
	fs := newFlagSet(env, "inspect", "tool.wasm",
		"Prints a module's SHA-256 hash, size and manifest as JSON. A module\nwithout a manifest is a plain WASI program offering one tool, \"main\".")
	pos, status, ok := parseExact(env, fs, args, 1)
	if !ok {
		return status
	}
	wasm, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln inspect:", err)
		return exitFailed
	}
	payload, found, err := manifest.Extract(wasm)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln inspect: %s: %v\n", pos[0], err)
		return exitFailed
	}
	man := manifest.Plain()
	if found {
		if man, err = manifest.Parse(payload); err != nil {
			fmt.Fprintf(env.stderr, "kiln inspect: %s: %v\n", pos[0], err)
			return exitFailed
		}
	}
	sum := sha256.Sum256(wasm)
	report := struct {
		Hash     string             `json:"hash"`
		Size     int                `json:"size"`
		Plain    bool               `json:"plain"`
		Manifest *manifest.Manifest `json:"manifest"`
	}{hex.EncodeToString(sum[:]), len(wasm), man.Plain, man}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		fmt.Fprintln(env.stderr, "kiln inspect:", err)
		return exitFailed
	}
	return exitOK
}
