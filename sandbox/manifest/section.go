package manifest

import (
	"bytes"
	"errors"
	"fmt"
)

var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// ErrNotWasm reports input that is not a WebAssembly 1.0 binary.
var ErrNotWasm = errors.New("not a WebAssembly binary (bad magic number or version)")

// Section is one top-level section of a module binary.
type Section struct {
	ID   byte
	Name string // custom sections only
	// Payload is the section content, after the name for custom sections.
	Payload []byte
	// Start and End delimit the whole section (id byte to last byte) in the binary.
	Start, End int
}

// Sections splits a module binary into its sections without decoding them.
func Sections(wasm []byte) ([]Section, error) {
	if !bytes.HasPrefix(wasm, wasmHeader) {
		return nil, ErrNotWasm
	}
	var out []Section
	for pos := len(wasmHeader); pos < len(wasm); {
		start := pos
		id := wasm[pos]
		size, n, err := readU32(wasm[pos+1:])
		if err != nil {
			return nil, fmt.Errorf("section at offset %d: %w", start, err)
		}
		pos += 1 + n
		if uint64(pos)+uint64(size) > uint64(len(wasm)) {
			return nil, fmt.Errorf("section at offset %d: size %d runs past the end of the binary", start, size)
		}
		s := Section{ID: id, Payload: wasm[pos : pos+int(size)], Start: start, End: pos + int(size)}
		if hasVector(id) {
			// wazero's decoder allocates a vector's count up front: a
			// 20-byte module claiming 2^32 imports exhausts host memory. Every
			// element takes at least one byte, which bounds honest counts.
			count, _, err := readU32(s.Payload)
			if err != nil || uint64(count) > uint64(len(s.Payload)) {
				return nil, fmt.Errorf("section %d at offset %d: vector count exceeds the section size", id, start)
			}
		}
		if id == 0 {
			nameLen, n, err := readU32(s.Payload)
			if err != nil || uint64(n)+uint64(nameLen) > uint64(len(s.Payload)) {
				return nil, fmt.Errorf("custom section at offset %d: bad name", start)
			}
			s.Name = string(s.Payload[n : n+int(nameLen)])
			s.Payload = s.Payload[n+int(nameLen):]
		}
		out = append(out, s)
		pos += int(size)
	}
	return out, nil
}

// hasVector reports sections whose payload starts with a vector count:
// type, import, function, table, memory, global, export, element, code, data and tag.
func hasVector(id byte) bool {
	return id >= 1 && id <= 11 && id != 8 || id == 13
}

// Extract returns the manifest section's payload, or found=false when the
// module has none. Two manifest sections are an error.
func Extract(wasm []byte) (payload []byte, found bool, err error) {
	sections, err := Sections(wasm)
	if err != nil {
		return nil, false, err
	}
	for _, s := range sections {
		if s.ID == 0 && s.Name == SectionName {
			if found {
				return nil, false, invalid("the module has more than one %s section", SectionName)
			}
			payload, found = s.Payload, true
		}
	}
	return payload, found, nil
}

// Embed returns a copy of wasm whose manifest section holds payload,
// replacing any manifest section it had.
func Embed(wasm, payload []byte) ([]byte, error) {
	sections, err := Sections(wasm)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(wasm)+len(payload)+32)
	out = append(out, wasmHeader...)
	for _, s := range sections {
		if s.ID == 0 && s.Name == SectionName {
			continue
		}
		out = append(out, wasm[s.Start:s.End]...)
	}
	body := appendU32(nil, uint32(len(SectionName)))
	body = append(body, SectionName...)
	body = append(body, payload...)
	out = append(out, 0)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...), nil
}

// MemoryMinPages returns the initial page count of the module's own memory
// (0 when it defines none), so the host can refuse a module whose initial
// memory alone exceeds a call's limit before allocating anything.
func MemoryMinPages(wasm []byte) (uint32, error) {
	sections, err := Sections(wasm)
	if err != nil {
		return 0, err
	}
	for _, s := range sections {
		if s.ID != 5 { // memory section
			continue
		}
		count, n, err := readU32(s.Payload)
		if err != nil || count == 0 || n >= len(s.Payload) {
			return 0, errors.New("malformed memory section")
		}
		// limits: a flags byte, then min (and max when flags&1).
		min, _, err := readU32(s.Payload[n+1:])
		if err != nil {
			return 0, errors.New("malformed memory section")
		}
		return min, nil
	}
	return 0, nil
}

func readU32(b []byte) (v uint32, n int, err error) {
	var shift uint
	for n < len(b) && n < 5 {
		c := b[n]
		n++
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			if n == 5 && c > 0x0f {
				return 0, 0, errors.New("LEB128 value overflows 32 bits")
			}
			return v, n, nil
		}
		shift += 7
	}
	return 0, 0, errors.New("truncated LEB128 value")
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
