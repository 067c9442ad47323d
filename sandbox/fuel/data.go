package fuel

import (
	"cmp"
	"slices"
)

// Go's linker writes a module's data as tens of thousands of small active
// segments (it splits at every run of zeros), and wazero evaluates and
// copies each segment on every instantiation: for a Go tool that was most
// of the cost of starting an instance. The rewrite therefore coalesces
// neighbouring segments, filling the gaps with the zeros memory already
// holds. The memory a module starts with is byte for byte the same.

// maxDataGap is the widest run of zeros coalescing writes explicitly; wider
// gaps start a new segment.
const maxDataGap = 4096

type dataSegment struct {
	offset uint32
	data   []byte
}

// coalesceData returns a data section payload with neighbouring segments
// merged, or nil when merging could change what the module sees. That is
// the case unless every segment is active, in memory 0, at an i32.const
// offset, and no two overlap (so no gap is written by another segment), and the module has no data count section (without it,
// no memory.init or data.drop can name a segment by index). A segment
// out of bounds fails instantiation before and after.
func coalesceData(payload []byte, hasDataCount bool) []byte {
	if hasDataCount {
		return nil
	}
	segs, ok := activeSegments(payload)
	if !ok || len(segs) < 2 {
		return nil
	}
	// The zeros written explicitly are bounded by the data itself, so a
	// module of many tiny, spread-out segments cannot grow the output
	// without limit.
	var dataBytes uint64
	for _, s := range segs {
		dataBytes += uint64(len(s.data))
	}
	fillBudget := dataBytes + maxDataGap
	var merged []dataSegment
	for _, s := range segs {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			end := uint64(last.offset) + uint64(len(last.data))
			if gap := uint64(s.offset) - end; gap <= maxDataGap && gap <= fillBudget {
				fillBudget -= gap
				last.data = append(last.data, make([]byte, gap)...)
				last.data = append(last.data, s.data...)
				continue
			}
		}
		merged = append(merged, dataSegment{offset: s.offset, data: append([]byte(nil), s.data...)})
	}
	out := appendULEB(nil, uint64(len(merged)))
	for _, s := range merged {
		out = append(out, 0x00, 0x41) // active, memory 0, i32.const
		out = appendSLEB(out, int64(int32(s.offset)))
		out = append(out, 0x0b) // end
		out = appendULEB(out, uint64(len(s.data)))
		out = append(out, s.data...)
	}
	return out
}

// activeSegments reads a data section in which every segment has the form
// coalescing needs, and returns the segments by offset. Segments that do not
// overlap write the same bytes in any order.
func activeSegments(payload []byte) ([]dataSegment, bool) {
	r := &reader{b: payload}
	n, err := r.count(2)
	if err != nil {
		return nil, false
	}
	segs := make([]dataSegment, 0, n)
	for range n {
		flags, err := r.u32()
		if err != nil || flags != 0 {
			return nil, false
		}
		if op, err := r.byte(); err != nil || op != 0x41 {
			return nil, false
		}
		offset, err := r.sleb(32)
		if err != nil {
			return nil, false
		}
		if op, err := r.byte(); err != nil || op != 0x0b {
			return nil, false
		}
		size, err := r.count(1)
		if err != nil {
			return nil, false
		}
		data, err := r.bytes(size)
		if err != nil {
			return nil, false
		}
		segs = append(segs, dataSegment{offset: uint32(int32(offset)), data: data})
	}
	if !r.eof() {
		return nil, false
	}
	slices.SortStableFunc(segs, func(a, b dataSegment) int { return cmp.Compare(a.offset, b.offset) })
	var end uint64
	for _, s := range segs {
		if uint64(s.offset) < end {
			return nil, false
		}
		end = uint64(s.offset) + uint64(len(s.data))
	}
	return segs, true
}
