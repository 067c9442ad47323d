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
const Version = 7

// GlobalExport is the export name of the fuel counter (a mutable i64 global).
// The host sets it before running the module and reads it afterwards.
const GlobalExport = "kiln.fuel"

// GlobalExportPrefix starts the export names under which the rewrite
// exports every mutable global the module defines ("kiln.global.3" is
// global 3), so that a host can read and restore all of an instance's
// globals: wazero sets only exported globals. Input modules may not use it.
const GlobalExportPrefix = "kiln.global."

// RestorableSection names the custom section the rewrite adds when an
// instance's whole state is its memory and its globals: no imported
// globals, and no instruction that changes tables or drops segments
// (table.set/grow/fill/copy/init, elem.drop, data.drop). Restoring memory
// and every exported global of such an instance to a snapshot is then the
// same as restoring the instance. An input section of that name is dropped.
// Its payload is a version byte (1), then the number of mutable globals and
// their indices (each exported as GlobalExportPrefix and the index), all
// unsigned LEB128.
const RestorableSection = "kiln.restorable"

// manifestSection is the custom section holding a tool module's manifest
// (sandbox/manifest.SectionName), which the rewrite leaves out.
const manifestSection = "kiln.manifest"

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
	return instrument(wasm, opts, meterer{stateful: new(bool)})
}
