package fuel

import "fmt"

// class is what an instruction means for control flow, which is all the
// metering needs to know about it.
type class uint8

const (
	plain       class = iota // falls through to the next instruction
	blockStart               // block: the body starts straight away
	loopStart                // loop: a branch target that repeats
	ifStart                  // if: the then-arm may or may not run
	elseArm                  // else: the else-arm starts
	end                      // end of a block, loop, if or the function
	conditional              // br_if: may branch or fall through
	jump                     // br, br_table, return, unreachable: never falls through
)

// UnsupportedError reports an instruction or construct the instrumenter
// does not understand. Such modules are refused, never passed through.
type UnsupportedError struct {
	Offset int
	What   string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("fuel: offset %d: unsupported %s", e.Offset, e.What)
}

// simdDefined marks the defined opcodes after the 0xFD prefix (fixed-width
// SIMD); the gaps are unassigned in the specification.
var simdDefined = func() (set [256]bool) {
	for i := range set {
		set[i] = true
	}
	for _, gap := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		set[gap] = false
	}
	return set
}()

// instruction decodes one instruction whose opcode byte r has just read,
// skipping its immediates. It understands the WebAssembly 2.0 instruction
// set (MVP, sign extension, saturating conversions, bulk memory, reference
// types, multi-value block types, fixed-width SIMD) and nothing else: the
// exception-handling, tail-call, threads, GC and relaxed-SIMD proposals are
// refused rather than guessed at.
func instruction(r *reader, op byte) (class, error) {
	unsupported := func(what string) (class, error) {
		return 0, &UnsupportedError{Offset: r.base + r.pos - 1, What: what}
	}
	u32 := func(n int) error {
		for range n {
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case op == 0x00: // unreachable
		return jump, nil
	case op == 0x01: // nop
		return plain, nil
	case op >= 0x02 && op <= 0x04: // block, loop, if
		if err := blockType(r); err != nil {
			return 0, err
		}
		return [...]class{blockStart, loopStart, ifStart}[op-0x02], nil
	case op == 0x05:
		return elseArm, nil
	case op == 0x0b:
		return end, nil
	case op == 0x0c: // br
		return jump, u32(1)
	case op == 0x0d: // br_if
		return conditional, u32(1)
	case op == 0x0e: // br_table
		n, err := r.count(1)
		if err != nil {
			return 0, err
		}
		return jump, u32(n + 1)
	case op == 0x0f: // return
		return jump, nil
	case op == 0x10: // call
		return plain, u32(1)
	case op == 0x11: // call_indirect typeidx tableidx
		return plain, u32(2)
	case op == 0x1a || op == 0x1b: // drop, select
		return plain, nil
	case op == 0x1c: // select t*
		n, err := r.count(1)
		if err != nil {
			return 0, err
		}
		for range n {
			if err := valueType(r); err != nil {
				return 0, err
			}
		}
		return plain, nil
	case op >= 0x20 && op <= 0x26: // local.get/set/tee, global.get/set, table.get/set
		return plain, u32(1)
	case op >= 0x28 && op <= 0x3e: // loads and stores
		return plain, memArg(r)
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		return plain, memIndex(r)
	case op == 0x41:
		_, err := r.sleb(32)
		return plain, err
	case op == 0x42:
		_, err := r.sleb(64)
		return plain, err
	case op == 0x43:
		_, err := r.bytes(4)
		return plain, err
	case op == 0x44:
		_, err := r.bytes(8)
		return plain, err
	case op >= 0x45 && op <= 0xc4: // numeric, including sign extension
		return plain, nil
	case op == 0xd0: // ref.null t
		return plain, refType(r)
	case op == 0xd1: // ref.is_null
		return plain, nil
	case op == 0xd2: // ref.func
		return plain, u32(1)
	case op == 0xfc:
		sub, err := r.u32()
		if err != nil {
			return 0, err
		}
		switch {
		case sub <= 7: // saturating truncation
			return plain, nil
		case sub == 8: // memory.init dataidx memidx
			if err := u32(1); err != nil {
				return 0, err
			}
			return plain, memIndex(r)
		case sub == 9, sub == 13: // data.drop, elem.drop
			return plain, u32(1)
		case sub == 10: // memory.copy
			if err := memIndex(r); err != nil {
				return 0, err
			}
			return plain, memIndex(r)
		case sub == 11: // memory.fill
			return plain, memIndex(r)
		case sub == 12, sub == 14: // table.init, table.copy
			return plain, u32(2)
		case sub >= 15 && sub <= 17: // table.grow, table.size, table.fill
			return plain, u32(1)
		}
		return unsupported(fmt.Sprintf("instruction 0xfc %d", sub))
	case op == 0xfd:
		sub, err := r.u32()
		if err != nil {
			return 0, err
		}
		switch {
		case sub <= 11, sub == 92, sub == 93: // v128 loads and stores
			return plain, memArg(r)
		case sub == 12, sub == 13: // v128.const, i8x16.shuffle
			_, err := r.bytes(16)
			return plain, err
		case sub >= 21 && sub <= 34: // extract_lane, replace_lane
			_, err := r.byte()
			return plain, err
		case sub >= 84 && sub <= 91: // load_lane, store_lane
			if err := memArg(r); err != nil {
				return 0, err
			}
			_, err := r.byte()
			return plain, err
		case sub < 256 && simdDefined[sub]:
			return plain, nil
		}
		return unsupported(fmt.Sprintf("instruction 0xfd %d", sub))
	case op >= 0x06 && op <= 0x0a, op == 0x18, op == 0x19, op == 0x1f:
		return unsupported("exception-handling instruction")
	case op >= 0x12 && op <= 0x15:
		return unsupported("tail-call or typed-reference call")
	case op == 0xfe:
		return unsupported("atomic (threads) instruction")
	}
	return unsupported(fmt.Sprintf("opcode 0x%02x", op))
}

// blockType reads a block type: empty (0x40), a value type, or a type index
// encoded as a non-negative s33.
func blockType(r *reader) error {
	if r.eof() {
		return r.fail("%v", errTruncated)
	}
	switch c := r.b[r.pos]; {
	case c == 0x40:
		r.pos++
		return nil
	case c >= 0x6f && c <= 0x7f:
		return valueType(r)
	}
	idx, err := r.sleb(33)
	if err != nil {
		return err
	}
	if idx < 0 {
		return r.fail("invalid block type")
	}
	return nil
}

func valueType(r *reader) error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return nil
	}
	return &UnsupportedError{Offset: r.base + r.pos - 1, What: fmt.Sprintf("value type 0x%02x", c)}
}

func refType(r *reader) error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c != 0x70 && c != 0x6f {
		return &UnsupportedError{Offset: r.base + r.pos - 1, What: fmt.Sprintf("reference type 0x%02x", c)}
	}
	return nil
}

// memArg reads alignment and offset. Multi-memory's memory index (flag bit
// 6 in the alignment) is not supported.
func memArg(r *reader) error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align >= 64 {
		return &UnsupportedError{Offset: r.base + r.pos, What: "memory index in a memory argument (multi-memory)"}
	}
	_, err = r.u32()
	return err
}

// memIndex reads the memory index of memory.size, memory.grow and bulk
// memory instructions; only memory 0 exists without multi-memory.
func memIndex(r *reader) error {
	idx, err := r.u32()
	if err != nil {
		return err
	}
	if idx != 0 {
		return &UnsupportedError{Offset: r.base + r.pos, What: "memory index other than 0 (multi-memory)"}
	}
	return nil
}
