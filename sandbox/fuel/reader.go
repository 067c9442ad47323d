package fuel

import (
	"errors"
	"fmt"
)

// reader decodes the primitive encodings of the binary format. Every read
// is bounds-checked; a count read from the input is never trusted to size an
// allocation before it is checked against the bytes left.
type reader struct {
	b   []byte
	pos int
	// base is added to pos in error messages, to give offsets in the module.
	base int
}

var errTruncated = errors.New("unexpected end of data")

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", r.base+r.pos, fmt.Sprintf(format, args...))
}

func (r *reader) eof() bool { return r.pos >= len(r.b) }

func (r *reader) left() int { return len(r.b) - r.pos }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.fail("%v", errTruncated)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, r.fail("%d bytes wanted, %d left", n, r.left())
	}
	out := r.b[r.pos : r.pos+n]
	r.pos += n
	return out, nil
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		payload := uint64(c & 0x7f)
		if shift >= bits || bits-shift < 7 && payload>>(bits-shift) != 0 {
			return 0, r.fail("LEB128 value exceeds %d bits", bits)
		}
		v |= payload << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

// sleb reads a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits uint) (int64, error) {
	var v int64
	for shift := uint(0); ; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, r.fail("signed LEB128 value exceeds %d bits", bits)
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 != 0 {
			continue
		}
		if remaining := bits - shift; remaining < 7 {
			// Payload bits from the sign bit up must all equal it.
			mask := byte(0x7f) >> (remaining - 1) << (remaining - 1)
			if hi := c & mask; hi != 0 && hi != mask {
				return 0, r.fail("signed LEB128 value exceeds %d bits", bits)
			}
		}
		if shift+7 < 64 && c&0x40 != 0 {
			v |= -1 << (shift + 7)
		}
		return v, nil
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// count reads a vector length and checks that at least min bytes per element
// remain, so a forged count cannot make anyone allocate for it.
func (r *reader) count(min int) (int, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(min) > uint64(r.left()) {
		return 0, r.fail("vector of %d elements does not fit in the %d bytes left", n, r.left())
	}
	return int(n), nil
}

func (r *reader) name() (string, error) {
	n, err := r.count(1)
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	return string(b), err
}

func appendULEB(b []byte, v uint64) []byte {
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

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
