package sandbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The exports of a reactor module (toolkits/ABI.md section 3.1): WASI's
// `_initialize`, then the toolkit's init entry, run once per instance; the
// call entry, run once per call with the call document's length.
const (
	reactorStart = "_initialize"
	reactorInit  = "kiln_init"
	reactorCall  = "kiln_call"
)

// isReactor reports whether a compiled module is a reactor tool module: it
// exports the three entries and no _start (a command that also exports
// them, such as a toolkit build without -buildmode=c-shared, is a command).
func isReactor(c wazero.CompiledModule) bool {
	exports := c.ExportedFunctions()
	if _, ok := exports["_start"]; ok {
		return false
	}
	for _, name := range []string{reactorStart, reactorInit, reactorCall} {
		if _, ok := exports[name]; !ok {
			return false
		}
	}
	return true
}

// encodeCall writes the call document a reactor reads with kiln.call_input:
// the tool, the arguments and the call's env, each as a little-endian u32
// length and bytes (env as a u32 count of name, value pairs, sorted by
// name). Env travels here, per call, rather than in WASI's environ, which
// an instance captures once when it is created.
func encodeCall(tool string, args []byte, env map[string]string) []byte {
	put := func(b []byte, s string) []byte {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	b := put(put(nil, tool), string(args))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(names)))
	for _, name := range names {
		b = put(put(b, name), env[name])
	}
	return b
}

// hostCallInput is kiln.call_input(ptr): it copies the call document, whose
// length the call entry received, to ptr. Once per call.
func hostCallInput(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	if s.input == nil || s.inputTaken {
		panic(&hostError{"kiln.call_input: no call document to collect"})
	}
	ptr := api.DecodeU32(stack[0])
	if !mod.Memory().Write(ptr, s.input) {
		panic(&hostError{fmt.Sprintf("kiln.call_input: range [%d, %d) is outside memory", ptr, uint64(ptr)+uint64(len(s.input)))})
	}
	s.inputTaken = true
}

// runReactor runs a reactor instance's initialisation, then the call:
// what _start is to a command.
func runReactor(ctx context.Context, inst api.Module, input []byte) error {
	if err := initReactor(ctx, inst); err != nil {
		return err
	}
	_, err := inst.ExportedFunction(reactorCall).Call(ctx, uint64(len(input)))
	return err
}

// initReactor runs `_initialize` and the toolkit's init entry.
func initReactor(ctx context.Context, inst api.Module) error {
	for _, name := range []string{reactorStart, reactorInit} {
		if _, err := inst.ExportedFunction(name).Call(ctx); err != nil {
			return err
		}
	}
	return nil
}

// callSlot connects a warm instance's WASI stdout, stderr and random
// source, which wazero fixes when the instance is created, to the call
// it currently serves. Only that call's goroutine uses it while it runs.
type callSlot struct{ state *callState }

func (c *callSlot) Write(p []byte) (int, error) {
	return meteredWriter{&c.state.logs, c.state}.Write(p)
}

func (c *callSlot) Read(p []byte) (int, error) { return randSource{c.state}.Read(p) }

// walltime and nanotime are the instance's clocks, read through the call.
func (c *callSlot) walltime() (int64, int32) { return c.state.walltime() }
func (c *callSlot) nanotime() int64          { return c.state.nanotime() }
