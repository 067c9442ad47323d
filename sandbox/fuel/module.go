package fuel

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// rank orders the known sections as the binary format requires.
var rank = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secGlobal: 6,
	secExport: 7, secStart: 8, secElement: 9, secDataCount: 10, secCode: 11, secData: 12,
}

type section struct {
	id      byte
	payload []byte
	offset  int // of the payload in the module, for errors
}

// module is what the rewrite learns while checking the sections.
type module struct {
	sections        []section
	importedGlobals uint32
	definedGlobals  uint32
	functions       uint32 // imported + defined
	exportNames     map[string]bool
	start           *uint32
}

// instrument checks every section (bounding every count by the bytes that
// remain, because the engine behind us allocates counts up front) and
// rebuilds the module with the fuel global, its export, the start function
// export, metered code and a capped memory.
func instrument(wasm []byte, opts Options, m meterer) ([]byte, error) {
	if !bytes.HasPrefix(wasm, header) {
		return nil, errors.New("fuel: not a WebAssembly 1.0 binary (bad magic number or version)")
	}
	mod := &module{exportNames: map[string]bool{}}
	r := &reader{b: wasm, pos: len(header)}
	last := 0
	for !r.eof() {
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("fuel: section header: %w", err)
		}
		offset := r.pos
		payload, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("fuel: section %d: %w", id, err)
		}
		if id != secCustom {
			rk, known := rank[id]
			switch {
			case id == secTag:
				return nil, &UnsupportedError{Offset: offset, What: "tag section (exception handling)"}
			case !known:
				return nil, fmt.Errorf("fuel: offset %d: unknown section id %d", offset, id)
			case rk <= last:
				return nil, fmt.Errorf("fuel: offset %d: section %d is out of order or repeated", offset, id)
			}
			last = rk
		}
		s := section{id: id, payload: payload, offset: offset}
		if err := mod.check(s); err != nil {
			return nil, err
		}
		mod.sections = append(mod.sections, s)
	}
	for _, name := range []string{GlobalExport, StartExport} {
		if mod.exportNames[name] {
			return nil, fmt.Errorf("fuel: the module already exports %q, a name reserved for the host", name)
		}
	}
	m.global = mod.importedGlobals + mod.definedGlobals
	return mod.rebuild(opts, m)
}

// check validates one section's structure far enough that the engine
// cannot be made to over-allocate, and records what the rewrite needs.
func (mod *module) check(s section) error {
	r := &reader{b: s.payload, base: s.offset}
	var err error
	switch s.id {
	case secCustom:
		_, err = r.name()
		return wrap(err)
	case secType:
		err = each(r, 3, func() error {
			form, err := r.byte()
			if err != nil {
				return err
			}
			if form != 0x60 {
				return &UnsupportedError{Offset: r.base + r.pos - 1, What: fmt.Sprintf("type form 0x%02x (GC proposal)", form)}
			}
			for range 2 { // params, results
				if err := each(r, 1, func() error { return valueType(r) }); err != nil {
					return err
				}
			}
			return nil
		})
	case secImport:
		err = each(r, 3, func() error {
			if _, err := r.name(); err != nil {
				return err
			}
			if _, err := r.name(); err != nil {
				return err
			}
			kind, err := r.byte()
			if err != nil {
				return err
			}
			switch kind {
			case 0x00: // function
				mod.functions++
				_, err = r.u32()
			case 0x01:
				err = tableType(r)
			case 0x02:
				err = limits(r)
			case 0x03:
				mod.importedGlobals++
				err = globalType(r)
			default:
				err = &UnsupportedError{Offset: r.base + r.pos - 1, What: fmt.Sprintf("import kind 0x%02x", kind)}
			}
			return err
		})
	case secFunction:
		err = each(r, 1, func() error {
			mod.functions++
			_, err := r.u32()
			return err
		})
	case secTable:
		err = each(r, 3, func() error { return tableType(r) })
	case secMemory:
		err = each(r, 2, func() error { return limits(r) })
	case secGlobal:
		err = each(r, 3, func() error {
			mod.definedGlobals++
			if err := globalType(r); err != nil {
				return err
			}
			return constExpr(r)
		})
	case secExport:
		err = each(r, 3, func() error {
			name, err := r.name()
			if err != nil {
				return err
			}
			mod.exportNames[name] = true
			if _, err := r.byte(); err != nil {
				return err
			}
			_, err = r.u32()
			return err
		})
	case secStart:
		idx, e := r.u32()
		mod.start, err = &idx, e
	case secElement:
		err = each(r, 2, func() error { return elementSegment(r) })
	case secDataCount:
		_, err = r.u32()
	case secCode:
		err = each(r, 2, func() error {
			size, err := r.count(0)
			if err != nil {
				return err
			}
			_, err = r.bytes(size)
			return err
		})
	case secData:
		err = each(r, 2, func() error { return dataSegment(r) })
	}
	if err == nil && !r.eof() {
		err = r.fail("%d unexpected bytes at the end of section %d", r.left(), s.id)
	}
	return wrap(err)
}

func wrap(err error) error {
	var unsupported *UnsupportedError
	if err == nil || errors.As(err, &unsupported) {
		return err
	}
	return fmt.Errorf("fuel: malformed module: %w", err)
}

// each reads a vector whose elements take at least min bytes each.
func each(r *reader, min int, element func() error) error {
	n, err := r.count(min)
	if err != nil {
		return err
	}
	for range n {
		if err := element(); err != nil {
			return err
		}
	}
	return nil
}

func limits(r *reader) error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 1 {
		return &UnsupportedError{Offset: r.base + r.pos - 1, What: fmt.Sprintf("limits flags 0x%02x (shared or 64-bit memory)", flags)}
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags == 1 {
		_, err = r.u32()
	}
	return err
}

func tableType(r *reader) error {
	if err := refType(r); err != nil {
		return err
	}
	return limits(r)
}

func globalType(r *reader) error {
	if err := valueType(r); err != nil {
		return err
	}
	mut, err := r.byte()
	if err != nil {
		return err
	}
	if mut > 1 {
		return r.fail("invalid global mutability %d", mut)
	}
	return nil
}

// constExpr skips a constant expression: one constant instruction and end.
func constExpr(r *reader) error {
	op, err := r.byte()
	if err != nil {
		return err
	}
	switch op {
	case 0x41, 0x42, 0x43, 0x44, 0x23, 0xd0, 0xd2: // t.const, global.get, ref.null, ref.func
		if _, err := instruction(r, op); err != nil {
			return err
		}
	case 0xfd: // v128.const
		sub, err := r.u32()
		if err != nil {
			return err
		}
		if sub != 12 {
			return r.fail("instruction 0xfd %d in a constant expression", sub)
		}
		if _, err := r.bytes(16); err != nil {
			return err
		}
	default:
		return &UnsupportedError{Offset: r.base + r.pos - 1, What: fmt.Sprintf("opcode 0x%02x in a constant expression (extended-const)", op)}
	}
	if e, err := r.byte(); err != nil || e != 0x0b {
		return r.fail("constant expression without end")
	}
	return nil
}

// elementSegment skips one of the eight element segment encodings.
func elementSegment(r *reader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 7 {
		return r.fail("invalid element segment flags %d", flags)
	}
	active, explicitTable, exprs := flags&1 == 0, flags&2 != 0, flags&4 != 0
	if active && explicitTable {
		if _, err := r.u32(); err != nil { // table index
			return err
		}
	}
	if active {
		if err := constExpr(r); err != nil {
			return err
		}
	}
	if !active || explicitTable { // element kind or reference type
		if exprs {
			err = refType(r)
		} else if kind, e := r.byte(); e != nil || kind != 0x00 {
			err = r.fail("invalid element kind")
		}
		if err != nil {
			return err
		}
	}
	if exprs {
		return each(r, 2, func() error { return constExpr(r) })
	}
	return each(r, 1, func() error { _, err := r.u32(); return err })
}

func dataSegment(r *reader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	switch flags {
	case 0:
		err = constExpr(r)
	case 1:
	case 2:
		if err = memIndex(r); err == nil {
			err = constExpr(r)
		}
	default:
		err = r.fail("invalid data segment flags %d", flags)
	}
	if err != nil {
		return err
	}
	n, err := r.count(1)
	if err != nil {
		return err
	}
	_, err = r.bytes(n)
	return err
}

// rebuild writes the instrumented module.
func (mod *module) rebuild(opts Options, m meterer) ([]byte, error) {
	out := append([]byte(nil), header...)
	emit := func(id byte, payload []byte) {
		out = append(out, id)
		out = appendULEB(out, uint64(len(payload)))
		out = append(out, payload...)
	}
	var haveGlobal, haveExport bool
	// Sections we add go just before the first section ranked after them.
	addMissing := func(before int) {
		if !haveGlobal && before > rank[secGlobal] {
			emit(secGlobal, appendFuelGlobal(appendULEB(nil, 1)))
			haveGlobal = true
		}
		if !haveExport && before > rank[secExport] {
			emit(secExport, mod.appendExports(appendULEB(nil, uint64(mod.exportCount())), nil))
			haveExport = true
		}
	}
	for _, s := range mod.sections {
		if s.id != secCustom {
			addMissing(rank[s.id])
		}
		switch s.id {
		case secCustom:
			if name, _ := (&reader{b: s.payload}).name(); strings.HasPrefix(name, ".debug_") {
				continue // DWARF describes code offsets the rewrite moved
			}
			emit(s.id, s.payload)
		case secMemory:
			payload, err := capMemory(s, opts.MaxMemoryPages)
			if err != nil {
				return nil, err
			}
			emit(s.id, payload)
		case secGlobal:
			r := &reader{b: s.payload}
			n, _ := r.u32()
			payload := appendULEB(nil, uint64(n)+1)
			payload = append(payload, s.payload[r.pos:]...)
			emit(s.id, appendFuelGlobal(payload))
			haveGlobal = true
		case secExport:
			r := &reader{b: s.payload}
			_, _ = r.u32() // the count, rewritten by exportCount
			emit(s.id, mod.appendExports(appendULEB(nil, uint64(mod.exportCount())), s.payload[r.pos:]))
			haveExport = true
		case secStart:
			// Removed: exported as StartExport for the host to call.
		case secCode:
			payload, err := meterCode(s, m)
			if err != nil {
				return nil, err
			}
			emit(s.id, payload)
		default:
			emit(s.id, s.payload)
		}
	}
	addMissing(len(rank) + 1)
	return out, nil
}

// exportCount is the number of exports after the rewrite.
func (mod *module) exportCount() int {
	n := len(mod.exportNames) + 1
	if mod.start != nil {
		n++
	}
	return n
}

// appendExports appends the module's own exports, then the fuel global and
// the start function.
func (mod *module) appendExports(out, existing []byte) []byte {
	out = append(out, existing...)
	out = appendName(out, GlobalExport)
	out = append(out, 0x03) // global
	out = appendULEB(out, uint64(mod.importedGlobals+mod.definedGlobals))
	if mod.start != nil {
		out = appendName(out, StartExport)
		out = append(out, 0x00) // function
		out = appendULEB(out, uint64(*mod.start))
	}
	return out
}

func appendName(out []byte, name string) []byte {
	out = appendULEB(out, uint64(len(name)))
	return append(out, name...)
}

// appendFuelGlobal appends `(global (mut i64) (i64.const 0))`: a module has
// no fuel until the host gives it some.
func appendFuelGlobal(out []byte) []byte {
	return append(out, 0x7e, 0x01, 0x42, 0x00, 0x0b)
}

// capMemory lowers the declared maximum of the memory to maxPages.
func capMemory(s section, maxPages uint32) ([]byte, error) {
	if maxPages == 0 {
		return s.payload, nil
	}
	r := &reader{b: s.payload, base: s.offset}
	n, _ := r.u32()
	out := appendULEB(nil, uint64(n))
	for range n {
		flags, _ := r.byte()
		min, _ := r.u32()
		max := maxPages
		if flags == 1 {
			declared, _ := r.u32()
			max = min32(declared, maxPages)
		}
		if min > maxPages {
			return nil, fmt.Errorf("fuel: the module's initial memory of %d pages exceeds the cap of %d pages", min, maxPages)
		}
		out = append(out, 0x01)
		out = appendULEB(out, uint64(min))
		out = appendULEB(out, uint64(max))
	}
	return out, nil
}

func min32(a, b uint32) uint32 {
	if a < b {
		return a
	}
	return b
}

func meterCode(s section, m meterer) ([]byte, error) {
	r := &reader{b: s.payload, base: s.offset}
	n, _ := r.u32()
	out := appendULEB(nil, uint64(n))
	for range n {
		size, _ := r.u32()
		base := r.base + r.pos
		body, _ := r.bytes(int(size))
		metered, err := m.meterBody(body, base)
		if err != nil {
			return nil, wrap(err)
		}
		out = appendULEB(out, uint64(len(metered)))
		out = append(out, metered...)
	}
	return out, nil
}
