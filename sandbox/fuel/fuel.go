// Package fuel rewrites a WebAssembly module so that it meters its own
// execution.
//
// The module gets a mutable i64 global, the fuel counter, exported as
// "kiln.fuel" and starting at 0. Every straight-line segment of code subtracts its cost from
// it; at every function entry and loop header, a counter below zero calls
// the imported host function kiln_fuel.refuel(counter) -> i64, which either
// ends the call (fuel or time used up) or returns the next slice of fuel.
// Any execution that does not end passes function entries or loop headers
// without end, so it reaches the host within one slice: that is how the
// host enforces fuel budgets, deadlines and cancellation, and how the Go
// runtime gets the goroutine back for garbage collection, without wazero's
// costly WithCloseOnContextDone.
//
// One unit of fuel is one executed instruction that does work: block, loop,
// end, else and nop are free, because they compile to no machine code.
//
// The rewrite also coalesces neighbouring active data segments (data.go),
// which makes instantiating a Go module several times cheaper and leaves
// its initial memory unchanged.
package fuel

// Version is the instrumenter version; artifacts are cached by (module
// hash, Version), so any change to the rewriting must bump it.
const Version = 6

// GlobalExport is the export name of the fuel counter (a mutable i64 global).
// The host sets it before running the module and reads it afterwards.
const GlobalExport = "kiln.fuel"

// ImportModule and ImportName name the refuel function the rewrite imports:
// (func (param i64) (result i64)). The host must provide it.
const (
	ImportModule = "kiln_fuel"
	ImportName   = "refuel"
)

// Options tune the rewrite.
type Options struct {
	// MaxMemoryPages caps the memory's declared maximum (0 leaves it).
	MaxMemoryPages uint32
	// MaxTableElements caps the elements the module's tables may hold
	// together, initially or by table.grow (0 leaves them). The engine
	// allocates every element, so without a cap a few bytes of code can
	// claim gigabytes that no memory limit sees. Modules whose tables
	// start larger are refused; the maxima of the others are lowered so
	// that they sum to at most the cap, and table.grow past them returns
	// -1 as the specification allows.
	MaxTableElements uint32
}

// Instrument returns a metered copy of the module. It refuses, with an
// *UnsupportedError, any instruction, type or section it does not fully
// understand, and with a plain error any malformed structure.
func Instrument(wasm []byte, opts Options) ([]byte, error) {
	return instrument(wasm, opts, meterer{})
}
