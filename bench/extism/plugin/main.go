//go:build wasip1

// Command plugin is an Extism plugin with the same logic as Kiln's
// benchmark tool echo: it decodes {"text": ...} and answers the text with
// its length in characters. It talks to Extism's kernel directly through
// the extism:host/env imports (what Extism's Go PDK wraps; the PDK itself
// is not on the module proxy this repository builds from).
//
// count answers how many times it has been called in this instance: the
// benchmark's test uses it to show which Extism set-ups keep state between
// calls.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm ./plugin
package main

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport extism:host/env input_load_u64
func inputLoadU64(offset uint64) uint64

//go:wasmimport extism:host/env input_load_u8
func inputLoadU8(offset uint64) uint32

//go:wasmimport extism:host/env alloc
func alloc(n uint64) uint64

//go:wasmimport extism:host/env store_u64
func storeU64(offset, v uint64)

//go:wasmimport extism:host/env store_u8
func storeU8(offset uint64, v uint32)

//go:wasmimport extism:host/env output_set
func outputSet(offset, n uint64)

// input copies the call's input out of the kernel, eight bytes at a time
// as the PDK does.
func input() []byte {
	n := inputLength()
	buf := make([]byte, n)
	var i uint64
	for ; i+8 <= n; i += 8 {
		v := inputLoadU64(i)
		for j := range uint64(8) {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	for ; i < n; i++ {
		buf[i] = byte(inputLoadU8(i))
	}
	return buf
}

// output hands data to the kernel as the call's output.
func output(data []byte) {
	n := uint64(len(data))
	offset := alloc(n)
	var i uint64
	for ; i+8 <= n; i += 8 {
		var v uint64
		for j := range uint64(8) {
			v |= uint64(data[i+j]) << (8 * j)
		}
		storeU64(offset+i, v)
	}
	for ; i < n; i++ {
		storeU8(offset+i, uint32(data[i]))
	}
	outputSet(offset, n)
}

//go:wasmexport echo
func echo() int32 {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(input(), &in); err != nil {
		output([]byte(err.Error()))
		return 1
	}
	out, err := json.Marshal(struct {
		Text   string `json:"text"`
		Length int    `json:"length"`
	}{in.Text, utf8.RuneCountInString(in.Text)})
	if err != nil {
		output([]byte(err.Error()))
		return 1
	}
	output(out)
	return 0
}

var calls int

//go:wasmexport count
func count() int32 {
	calls++
	output([]byte(strconv.Itoa(calls)))
	return 0
}

func main() {}
