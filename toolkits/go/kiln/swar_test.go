package kiln

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestSWARIsExact: the word tests agree with a byte loop on words holding
// every byte value at every position, among random neighbours.
func TestSWARIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for v := range 256 {
		for pos := range 8 {
			for range 32 {
				var w [8]byte
				for i := range w {
					w[i] = byte(r.IntN(256))
				}
				w[pos] = byte(v)
				x := binary.LittleEndian.Uint64(w[:])
				for _, c := range []byte{'"', '\\', '<', '>', '&', 0} {
					if got, want := hasByte(x, c), bytesAny(w, func(b byte) bool { return b == c }); got != want {
						t.Fatalf("hasByte(%x, %q) = %v", w, c, got)
					}
				}
				for _, n := range []byte{0x20, 0x80, 1} {
					if got, want := hasLess(x, n), bytesAny(w, func(b byte) bool { return b < n }); got != want {
						t.Fatalf("hasLess(%x, %#x) = %v", w, n, got)
					}
				}
			}
		}
	}
}

func bytesAny(w [8]byte, f func(byte) bool) bool {
	for _, b := range w {
		if f(b) {
			return true
		}
	}
	return false
}
