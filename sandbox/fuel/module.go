package fuel

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
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
	types           uint32
	typeParams      []uint32 // parameter count of each type
	funcTypes       []uint32 // type of each defined function
	importedFuncs   uint32
	importedGlobals uint32
	definedGlobals  uint32
	exportNames     map[string]bool
	hasDataCount    bool
	// mutableGlobals are the indices of the defined mutable globals, each
	// exported under GlobalExportPrefix so a host can restore them.
	mutableGlobals []uint32
	// patches replace function indices in place: the refuel import takes
	// index importedFuncs, so every defined function moves up by one.
	patches map[int][]patch // by position in sections
}

// patch replaces payload[start:end] (a LEB128 function index) with value.
type patch struct {
	start, end int
	value      uint32
}

// shift maps a function index of the input module to the output module.
func (mod *module) shift(idx uint32) uint32 {
	if idx >= mod.importedFuncs {
		return idx + 1
	}
	return idx
}

// typeIndex reads a type index and checks it: the rewrite appends a type,
// which would otherwise make an out-of-range index valid.
func (mod *module) typeIndex(r *reader) error {
	idx, err := r.u32()
	if err == nil && idx >= mod.types {
		err = r.fail("type index %d out of range", idx)
	}
	return err
}

// globalIndex reads a global index and checks it: the fuel counter is
// appended at the first free index, and an invalid module must not become a
// valid one that reaches it.
func (mod *module) globalIndex(r *reader) error {
	idx, err := r.u32()
	if err == nil && idx >= mod.importedGlobals+mod.definedGlobals {
		err = r.fail("global index %d out of range", idx)
	}
	return err
}

// funcIndex reads a function index and records its patch.
func (mod *module) funcIndex(r *reader, sec int) error {
	start := r.pos
	idx, err := r.u32()
	if err != nil {
		return err
	}
	if idx >= mod.importedFuncs {
		mod.patches[sec] = append(mod.patches[sec], patch{start, r.pos, idx + 1})
	}
	return nil
}

// instrument checks every section (bounding every count by the bytes that
// remain, because the engine behind us allocates counts up front) and
// rebuilds the module with the fuel global, its export, the start function
// export, metered code and a capped memory.
func instrument(wasm []byte, opts Options, m meterer) ([]byte, error) {
	if !bytes.HasPrefix(wasm, header) {
		return nil, errors.New("fuel: not a WebAssembly 1.0 binary (bad magic number or version)")
	}
	if m.stateful == nil {
		m.stateful = new(bool)
	}
	mod := &module{exportNames: map[string]bool{}, patches: map[int][]patch{}}
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
		if err := mod.check(len(mod.sections), s); err != nil {
			return nil, err
		}
		mod.sections = append(mod.sections, s)
	}
	if mod.exportNames[GlobalExport] {
		return nil, fmt.Errorf("fuel: the module already exports %q, a name reserved for the host", GlobalExport)
	}
	for name := range mod.exportNames {
		if strings.HasPrefix(name, GlobalExportPrefix) {
			return nil, fmt.Errorf("fuel: the module exports %q; names starting with %q are reserved for the host", name, GlobalExportPrefix)
		}
	}
	m.global = mod.importedGlobals + mod.definedGlobals
	m.types = mod.types
	m.refuel = mod.importedFuncs
	m.shift = mod.shift
	return mod.rebuild(opts, m)
}

// check validates one section's structure far enough that the engine
// cannot be made to over-allocate, and records what the rewrite needs.
func (mod *module) check(sec int, s section) error {
	r := &reader{b: s.payload, base: s.offset}
	var err error
	switch s.id {
	case secCustom:
		_, err = r.name()
		return wrap(err)
	case secType:
		err = each(r, 3, func() error {
			mod.types++
			form, err := r.byte()
			if err != nil {
				return err
			}
			if form != 0x60 {
				return &UnsupportedError{Offset: r.base + r.pos - 1, What: fmt.Sprintf("type form 0x%02x (GC proposal)", form)}
			}
			params, err := r.count(1)
			if err != nil {
				return err
			}
			mod.typeParams = append(mod.typeParams, uint32(params))
			for range params {
				if err := valueType(r); err != nil {
					return err
				}
			}
			return each(r, 1, func() error { return valueType(r) }) // results
		})
	case secImport:
		err = each(r, 3, func() error {
			module, err := r.name()
			if err != nil {
				return err
			}
			if module == ImportModule {
				return fmt.Errorf("the module imports from %q, a module name reserved for the host", ImportModule)
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
				mod.importedFuncs++
				err = mod.typeIndex(r)
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
			start := r.pos
			if err := mod.typeIndex(r); err != nil {
				return err
			}
			idx, _ := (&reader{b: r.b[start:r.pos]}).u32()
			mod.funcTypes = append(mod.funcTypes, idx)
			return nil
		})
	case secTable:
		err = each(r, 3, func() error { return tableType(r) })
	case secMemory:
		err = each(r, 2, func() error { return limits(r) })
	case secGlobal:
		err = each(r, 3, func() error {
			idx := mod.importedGlobals + mod.definedGlobals
			mod.definedGlobals++
			if err := globalType(r); err != nil {
				return err
			}
			if r.b[r.pos-1] == 1 {
				mod.mutableGlobals = append(mod.mutableGlobals, idx)
			}
			return mod.constExpr(r, sec)
		})
	case secExport:
		err = each(r, 3, func() error {
			name, err := r.name()
			if err != nil {
				return err
			}
			mod.exportNames[name] = true
			kind, err := r.byte()
			if err != nil {
				return err
			}
			switch kind {
			case 0x00:
				return mod.funcIndex(r, sec)
			case 0x03:
				return mod.globalIndex(r)
			}
			_, err = r.u32()
			return err
		})
	case secStart:
		err = mod.funcIndex(r, sec)
	case secElement:
		err = each(r, 2, func() error { return mod.elementSegment(r, sec) })
	case secDataCount:
		mod.hasDataCount = true
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
		err = each(r, 2, func() error { return mod.dataSegment(r, sec) })
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
func (mod *module) constExpr(r *reader, sec int) error {
	op, err := r.byte()
	if err != nil {
		return err
	}
	switch op {
	case 0xd2: // ref.func
		if err := mod.funcIndex(r, sec); err != nil {
			return err
		}
	case 0x23: // global.get
		if err := mod.globalIndex(r); err != nil {
			return err
		}
	case 0x41, 0x42, 0x43, 0x44, 0xd0: // t.const, ref.null
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
func (mod *module) elementSegment(r *reader, sec int) error {
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
		if err := mod.constExpr(r, sec); err != nil {
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
		return each(r, 2, func() error { return mod.constExpr(r, sec) })
	}
	return each(r, 1, func() error { return mod.funcIndex(r, sec) })
}

func (mod *module) dataSegment(r *reader, sec int) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	switch flags {
	case 0:
		err = mod.constExpr(r, sec)
	case 1:
	case 2:
		if err = memIndex(r); err == nil {
			err = mod.constExpr(r, sec)
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
	added := map[byte]bool{}
	// Sections that must exist are created just before the first section
	// ranked after them.
	addMissing := func(before int) {
		for _, id := range []byte{secType, secImport, secGlobal, secExport} {
			if !added[id] && before > rank[id] {
				emit(id, mod.extend(id, appendULEB(nil, 0)))
				added[id] = true
			}
		}
	}
	// Coalesced data renumbers the segments, so the name section's data
	// names (subsection 9) would name the wrong ones: they are dropped.
	var coalesced []byte
	for _, s := range mod.sections {
		if s.id == secData {
			coalesced = coalesceData(s.payload, mod.hasDataCount)
		}
	}
	for i, s := range mod.sections {
		if s.id != secCustom {
			addMissing(rank[s.id])
		}
		payload := applyPatches(s.payload, mod.patches[i])
		switch s.id {
		case secCustom:
			name, _ := (&reader{b: s.payload}).name()
			switch {
			case strings.HasPrefix(name, ".debug_"):
				continue // DWARF describes code offsets the rewrite moved
			case name == RestorableSection:
				continue // only the rewrite may say so (below)
			case name == manifestSection:
				// The host reads the manifest from the original binary.
				// Without it here, a module compiles to the same code
				// before and after `kiln build` embeds its manifest, so
				// the build path compiles it once (wazero's caches are
				// keyed by these bytes).
				continue
			case name == "name":
				if payload = mod.renumberNames(s.payload, coalesced != nil); payload == nil {
					continue // a malformed name section is only lost debug names
				}
			}
			emit(s.id, payload)
		case secType, secImport, secGlobal, secExport:
			emit(s.id, mod.extend(s.id, payload))
			added[s.id] = true
		case secTable:
			capped, err := capTables(s, opts.MaxTableElements)
			if err != nil {
				return nil, err
			}
			emit(s.id, capped)
		case secMemory:
			capped, err := capMemory(s, opts.MaxMemoryPages)
			if err != nil {
				return nil, err
			}
			emit(s.id, capped)
		case secCode:
			metered, err := mod.meterCode(s, m)
			if err != nil {
				return nil, err
			}
			emit(s.id, metered)
		case secData:
			if coalesced != nil {
				payload = coalesced
			}
			emit(s.id, payload)
		default:
			emit(s.id, payload)
		}
	}
	addMissing(len(rank) + 1)
	if !*m.stateful && mod.importedGlobals == 0 {
		payload := appendULEB(append(appendName(nil, RestorableSection), 1), uint64(len(mod.mutableGlobals)))
		for _, g := range mod.mutableGlobals {
			payload = appendULEB(payload, uint64(g))
		}
		emit(secCustom, payload)
	}
	return out, nil
}

// extend appends the rewrite's entry to a type, import, global or export
// section payload (whose count is rewritten).
func (mod *module) extend(id byte, payload []byte) []byte {
	r := &reader{b: payload}
	n, _ := r.u32()
	rest := payload[r.pos:]
	var out []byte
	switch id {
	case secType: // (func (param i64) (result i64)), the refuel signature
		out = appendULEB(nil, uint64(n)+1)
		out = append(append(out, rest...), 0x60, 0x01, 0x7e, 0x01, 0x7e)
	case secImport: // (import "kiln_fuel" "refuel" (func (type $refuel)))
		out = appendULEB(nil, uint64(n)+1)
		out = append(out, rest...)
		out = appendName(out, ImportModule)
		out = appendName(out, ImportName)
		out = append(out, 0x00)
		out = appendULEB(out, uint64(mod.types))
	case secGlobal: // (global (mut i64) (i64.const 0)): no fuel until the host gives some
		out = appendULEB(nil, uint64(n)+1)
		out = append(append(out, rest...), 0x7e, 0x01, 0x42, 0x00, 0x0b)
	case secExport: // the fuel counter, and every mutable global for restoring
		out = appendULEB(nil, uint64(n)+1+uint64(len(mod.mutableGlobals)))
		out = append(out, rest...)
		out = appendName(out, GlobalExport)
		out = append(out, 0x03) // global
		out = appendULEB(out, uint64(mod.importedGlobals+mod.definedGlobals))
		for _, g := range mod.mutableGlobals {
			out = appendName(out, GlobalExportPrefix+strconv.FormatUint(uint64(g), 10))
			out = append(out, 0x03)
			out = appendULEB(out, uint64(g))
		}
	}
	return out
}

// applyPatches returns payload with its function indices replaced.
func applyPatches(payload []byte, patches []patch) []byte {
	if len(patches) == 0 {
		return payload
	}
	out := make([]byte, 0, len(payload)+len(patches))
	last := 0
	for _, p := range patches {
		out = append(out, payload[last:p.start]...)
		out = appendULEB(out, uint64(p.value))
		last = p.end
	}
	return append(out, payload[last:]...)
}

// renumberNames rewrites the function indices of a name section: function
// names (1), local names (2) and label names (3) are keyed by function.
// It returns nil if the section does not parse.
func (mod *module) renumberNames(payload []byte, dropDataNames bool) []byte {
	r := &reader{b: payload}
	if _, err := r.name(); err != nil {
		return nil
	}
	out := append([]byte(nil), payload[:r.pos]...)
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil
		}
		size, err := r.count(1)
		if err != nil {
			return nil
		}
		sub, err := r.bytes(size)
		if err != nil {
			return nil
		}
		if id >= 1 && id <= 3 {
			if sub = mod.renumberNameMap(sub, id != 1); sub == nil {
				return nil
			}
		}
		if id == 9 && dropDataNames {
			continue
		}
		out = append(out, id)
		out = appendULEB(out, uint64(len(sub)))
		out = append(out, sub...)
	}
	return out
}

// renumberNameMap rewrites vec(funcidx, name) or, when indirect,
// vec(funcidx, vec(idx, name)).
func (mod *module) renumberNameMap(sub []byte, indirect bool) []byte {
	r := &reader{b: sub}
	var patches []patch
	err := each(r, 2, func() error {
		if err := mod.funcIndex(r, -1); err != nil {
			return err
		}
		if !indirect {
			_, err := r.name()
			return err
		}
		return each(r, 2, func() error {
			if _, err := r.u32(); err != nil {
				return err
			}
			_, err := r.name()
			return err
		})
	})
	patches, mod.patches[-1] = mod.patches[-1], nil
	if err != nil || !r.eof() {
		return nil
	}
	return applyPatches(sub, patches)
}

func appendName(out []byte, name string) []byte {
	out = appendULEB(out, uint64(len(name)))
	return append(out, name...)
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

// capTables lowers the declared maxima of the tables so that together they
// can never hold more than limit elements: the initial sizes are refused
// if they alone pass it, and what remains of it is shared out first come,
// first served. A table without a maximum gets one.
func capTables(s section, limit uint32) ([]byte, error) {
	if limit == 0 {
		return s.payload, nil
	}
	type table struct {
		ref      byte
		min, max uint64
	}
	r := &reader{b: s.payload, base: s.offset}
	n, _ := r.u32()
	tables := make([]table, n)
	var mins uint64
	for i := range tables {
		ref, _ := r.byte()
		flags, _ := r.byte()
		min, _ := r.u32()
		max := uint64(1) << 32 // no maximum
		if flags == 1 {
			declared, _ := r.u32()
			max = uint64(declared)
		}
		tables[i] = table{ref: ref, min: uint64(min), max: max}
		mins += uint64(min)
	}
	if mins > uint64(limit) {
		return nil, fmt.Errorf("fuel: the module's tables start with %d elements, more than the cap of %d", mins, limit)
	}
	spare := uint64(limit) - mins
	out := appendULEB(nil, uint64(n))
	for _, t := range tables {
		max := t.max // below min, an invalid module stays invalid
		if t.max >= t.min {
			grow := min(t.max-t.min, spare)
			spare -= grow
			max = t.min + grow
		}
		out = append(out, t.ref, 0x01)
		out = appendULEB(out, t.min)
		out = appendULEB(out, max)
	}
	return out, nil
}

func min32(a, b uint32) uint32 {
	if a < b {
		return a
	}
	return b
}

func (mod *module) meterCode(s section, m meterer) ([]byte, error) {
	r := &reader{b: s.payload, base: s.offset}
	n, _ := r.u32()
	if int(n) != len(mod.funcTypes) {
		return nil, fmt.Errorf("fuel: malformed module: %d function bodies for %d functions", n, len(mod.funcTypes))
	}
	out := appendULEB(nil, uint64(n))
	for i := range n {
		size, _ := r.u32()
		base := r.base + r.pos
		body, _ := r.bytes(int(size))
		metered, err := m.meterBody(body, base, mod.typeParams[mod.funcTypes[i]])
		if err != nil {
			return nil, wrap(err)
		}
		out = appendULEB(out, uint64(len(metered)))
		out = append(out, metered...)
	}
	return out, nil
}
