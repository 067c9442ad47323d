//go:build wasip1

package kiln

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"unsafe"
)

//go:wasmimport kiln call_input
func hostCallInput(ptr unsafe.Pointer)

// callContext is the context of every call's handler, made by kilnInit.
var callContext context.Context

// heapHeadroom is how much free heap the snapshot holds beyond what
// initialisation left: a call that allocates more grows the linear memory,
// and its instance is then discarded and replaced by a clone of the
// snapshot (milliseconds) instead of restored (microseconds). 1 MiB covers
// calls that read documents of a few hundred KB, and adds 1 MiB to each
// warm instance (1.5 MiB with the spans primeAllocator takes), of which a
// restore copies only the pages a call wrote.
const heapHeadroom = 1 << 20

// callBuffer receives call documents up to its size, so that a call does
// not allocate one: made by kilnInit, it is in the snapshot, and a
// restored instance finds it again (a larger document is allocated).
var callBuffer []byte

// mainMain is the program's main function: a reactor's initialisation
// (`_initialize`) runs package initialisers but not main, and main is
// where a tool module hands its tools to Run.
//
//go:linkname mainMain main.main
func mainMain()

// kilnInit is the reactor's init entry: the host calls it once, after
// `_initialize`, and snapshots the instance when it returns.
//
//go:wasmexport kiln_init
func kilnInit() {
	reactor = true
	// Made once: every call's handler gets the same (restored) context.
	callContext = hostContext(wasmHost{})
	callBuffer, resultBuffer = make([]byte, scratchSize), make([]byte, 0, scratchSize)
	mainMain()
	if served == nil {
		os.Stderr.WriteString("kiln: main did not call kiln.Run\n")
		os.Exit(3)
	}
	// Whatever main built and dropped (tables, a warm-up call) is freed
	// before the snapshot, so that every call starts with that heap free
	// instead of growing the memory, which makes the host discard the
	// instance rather than restore it. The headroom, grown and dropped
	// here, stays in the heap as free pages for the calls' allocations.
	runtime.KeepAlive(make([]byte, heapHeadroom+primedBytes)) // too large for the stack: on the heap
	runtime.GC()
	// The collection emptied the allocator's per-size caches; priming
	// again (its caches are filled now) refills those a call uses.
	served.warm()
	if served.Warm != nil {
		served.Warm()
	}
	primeAllocator()
}

// primedBytes bounds the heap primeAllocator takes: a span of 8 KiB for
// each of the allocator's classes up to 1 KiB (32 in Go 1.26), with and
// without pointers. kilnInit frees that much more heap, so that the calls'
// free heap is still heapHeadroom; a toolchain with more or larger spans
// leaves them a little less, which costs nothing but headroom.
const primedBytes = 2 * 32 * 8 << 10

// primeAllocator allocates an object of each small size class, with and
// without pointers, for the snapshot to hold a cached span of each: the
// collection in kilnInit empties the allocator's per-class caches, and a
// call on a restored instance that allocates in a class whose cache is
// empty refills it (3-4k instructions, on every call, since the restore
// empties it again). warm refills the classes of what it primes; a call's
// result, its strings and its buffers are of sizes warm does not know.
// The classes are the runtime's own (MemStats.BySize), so a toolchain
// with other classes primes those. Two allocator rules shape the sizes: a
// pointer-free object under 16 bytes goes to the tiny allocator, which
// needs no priming, and an object with pointers above 512 bytes carries an
// 8-byte header, which is left out of its size so that it lands in the
// class. Priming is a speed-up only: a class it misses is refilled by the
// first call that needs it, as before. reflect.MakeSlice always allocates
// on the heap (make of a variable size of at most 32 bytes may use the
// stack).
func primeAllocator() {
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	noPointers, pointers := reflect.TypeFor[[]byte](), reflect.TypeFor[[]*byte]()
	for _, class := range stats.BySize {
		n := int(class.Size)
		if n == 0 || n > 1024 {
			continue
		}
		if n >= 16 {
			reflect.MakeSlice(noPointers, n, n)
		}
		if n > 512 {
			n -= 8 // the header
		}
		reflect.MakeSlice(pointers, n/8, n/8)
	}
}

// kilnCall is the reactor's call entry: the host passes the call
// document's length, and the module has it copied in with kiln.call_input.
//
//go:wasmexport kiln_call
func kilnCall(n uint32) {
	defer exitOnPanic()
	doc := callBuffer[:min(int(n), len(callBuffer))]
	if int(n) > len(doc) {
		doc = make([]byte, n)
	}
	hostCallInput(unsafe.Pointer(unsafe.SliceData(doc)))
	if served == nil {
		os.Stderr.WriteString("kiln: kiln_call before kiln_init\n")
		os.Exit(3)
	}
	if status := serveDoc(callContext, *served, doc); status != 0 {
		os.Exit(status)
	}
}

// exitOnPanic ends the instance as a command's Go runtime does on a panic:
// "panic: ..." and the stack on stderr, exit status 2. Without it a panic
// in an exported function ends in an anonymous `unreachable` trap, and the
// host could not say what went wrong. Nothing is recovered from: the
// instance exits, and the host discards it.
func exitOnPanic() {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "panic: %v\n\n%s", r, debug.Stack())
		os.Exit(2)
	}
}
