package kiln

import "encoding/binary"

// Eight bytes at a time: Go's WebAssembly code for a loop over a string's
// bytes costs 35-65 instructions a byte, which made the scans of a call's
// arguments and result the bulk of a call with a few kilobytes of text.
// These tests of a word are exact (no byte is missed, none is invented):
// the classic "has zero byte" and "has byte less than n" (n <= 128).

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasByte reports whether a byte of x equals c.
func hasByte(x uint64, c byte) bool {
	y := x ^ (ones * uint64(c))
	return (y-ones)&^y&highs != 0
}

// hasLess reports whether a byte of x is less than n (n <= 128).
func hasLess(x uint64, n byte) bool {
	return (x-ones*uint64(n))&^x&highs != 0
}

// plainStringBytes is how many leading bytes of s, in whole words, need no
// escape in a JSON string as encoding/json writes one: ASCII from 0x20 on,
// other than '"', '\\', '<', '>' and '&'.
func plainStringBytes(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if x&highs != 0 || hasLess(x, 0x20) || hasByte(x, '"') || hasByte(x, '\\') ||
			hasByte(x, '<') || hasByte(x, '>') || hasByte(x, '&') {
			break
		}
	}
	return i
}

// plainQuotedBytes is how many leading bytes of b, in whole words, can be
// inside a JSON string as they are: no '"', '\\' or control character.
func plainQuotedBytes(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if hasLess(x, 0x20) || hasByte(x, '"') || hasByte(x, '\\') {
			break
		}
	}
	return i
}
