package fuel

import (
	"bytes"
	"strconv"
)

// RestorableGlobals reads the RestorableSection of a module the rewrite
// produced: the export names of every mutable global, and whether the
// module is restorable at all (false when the section is absent or
// malformed).
func RestorableGlobals(metered []byte) ([]string, bool) {
	if !bytes.HasPrefix(metered, header) {
		return nil, false
	}
	r := &reader{b: metered, pos: len(header)}
	for !r.eof() {
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, false
		}
		payload, err := r.bytes(int(size))
		if err != nil {
			return nil, false
		}
		if id != secCustom {
			continue
		}
		s := &reader{b: payload}
		if name, err := s.name(); err != nil || name != RestorableSection {
			continue
		}
		if v, err := s.byte(); err != nil || v != 1 {
			return nil, false
		}
		n, err := s.count(1)
		if err != nil {
			return nil, false
		}
		names := make([]string, 0, n)
		for range n {
			idx, err := s.u32()
			if err != nil {
				return nil, false
			}
			names = append(names, GlobalExportPrefix+strconv.FormatUint(uint64(idx), 10))
		}
		return names, s.eof()
	}
	return nil, false
}
