//go:build wasip1

package kiln

import "unsafe"

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
