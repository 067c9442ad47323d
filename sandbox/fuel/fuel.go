// Package fuel rewrites a WebAssembly module so that it meters its own
// execution: every function entry and loop header charges a mutable i64
// global, exported as "kiln.fuel", and traps when it goes negative.
package fuel

// Version is the instrumenter version; artifacts are cached by (module
// hash, Version), so any change to the rewriting must bump it.
const Version = 1

// GlobalExport is the export name of the fuel counter (a mutable i64 global).
// The host sets it before running the module and reads it afterwards.
const GlobalExport = "kiln.fuel"

// StartExport is the export name under which the module's start function,
// if it had one, is exported: the start section is removed so that the host
// can set the fuel counter before any guest code runs, and then calls it.
const StartExport = "kiln.start"

// Options tune the rewrite.
type Options struct {
	// MaxMemoryPages caps the memory's declared maximum (0 leaves it).
	MaxMemoryPages uint32
}

// Instrument returns a metered copy of the module. It refuses, with an
// *UnsupportedError, any instruction, type or section it does not fully
// understand, and with a plain error any malformed structure.
func Instrument(wasm []byte, opts Options) ([]byte, error) {
	return instrument(wasm, opts, meterer{})
}
