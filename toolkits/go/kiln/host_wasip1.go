//go:build wasip1

package kiln

import "unsafe"

//go:wasmimport kiln result
func hostResult(ptr unsafe.Pointer, n uint32)

//go:wasmimport kiln log
func hostLog(level uint32, ptr unsafe.Pointer, n uint32)

//go:wasmimport kiln http_request
func hostHTTPRequest(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport kiln http_response
func hostHTTPResponse(ptr unsafe.Pointer)

// wasmHost calls the host functions of toolkits/ABI.md.
type wasmHost struct{}

func defaultHost() host { return wasmHost{} }

func (wasmHost) result(data []byte) {
	hostResult(unsafe.Pointer(unsafe.SliceData(data)), uint32(len(data)))
}

func (wasmHost) log(level Level, msg string) {
	hostLog(uint32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func (wasmHost) httpRequest(req []byte) []byte {
	n := hostHTTPRequest(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)))
	resp := make([]byte, n)
	if n > 0 {
		hostHTTPResponse(unsafe.Pointer(unsafe.SliceData(resp)))
	}
	return resp
}
