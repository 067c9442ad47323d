//go:build wasip1

package kiln

import (
	"os"
	"unsafe"
)

//go:wasmimport kiln result
func hostResult(ptr unsafe.Pointer, n uint32)

//go:wasmimport kiln log_message
func hostLogMessage(level uint32, ptr unsafe.Pointer, n uint32)

//go:wasmimport kiln progress
func hostProgress(progress, total float64, ptr unsafe.Pointer, n uint32)

//go:wasmimport kiln http_request
func hostHTTPRequest(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport kiln http_response
func hostHTTPResponse(ptr unsafe.Pointer)

//go:wasmimport kiln elicit
func hostElicit(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport kiln sample
func hostSample(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport kiln list_roots
func hostListRoots(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport kiln input_response
func hostInputResponse(ptr unsafe.Pointer)

// wasmHost calls the host functions of toolkits/ABI.md.
type wasmHost struct{}

func defaultHost() host { return wasmHost{} }

func (wasmHost) result(data []byte) {
	hostResult(unsafe.Pointer(unsafe.SliceData(data)), uint32(len(data)))
}

func (wasmHost) logMessage(level Level, doc []byte) {
	hostLogMessage(uint32(level), unsafe.Pointer(unsafe.SliceData(doc)), uint32(len(doc)))
}

func (wasmHost) progress(progress, total float64, message string) {
	hostProgress(progress, total, unsafe.Pointer(unsafe.StringData(message)), uint32(len(message)))
}

func (wasmHost) httpRequest(req []byte) []byte {
	n := hostHTTPRequest(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)))
	resp := make([]byte, n)
	if n > 0 {
		hostHTTPResponse(unsafe.Pointer(unsafe.SliceData(resp)))
	}
	return resp
}

// input calls kiln.elicit, kiln.sample or kiln.list_roots; when the host
// has no answer yet it ends the call inside that function.
func (wasmHost) input(kind string, doc []byte) []byte {
	ptr, n := unsafe.Pointer(unsafe.SliceData(doc)), uint32(len(doc))
	var size uint32
	switch kind {
	case "elicit":
		size = hostElicit(ptr, n)
	case "sample":
		size = hostSample(ptr, n)
	default:
		size = hostListRoots(ptr, n)
	}
	answer := make([]byte, size)
	if size > 0 {
		hostInputResponse(unsafe.Pointer(unsafe.SliceData(answer)))
	}
	return answer
}

// stopForInput exits normally (proc_exit(0)) without a result: the host
// ends the call as input_required with the deferred questions (ABI section
// 5.7).
func (wasmHost) stopForInput() { os.Exit(0) }
