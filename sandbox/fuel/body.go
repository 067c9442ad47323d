package fuel

// maxLocals bounds the locals of one function, as engines do (wasmtime and
// V8 use 50,000): wazero would otherwise allocate whatever a body declares.
const maxLocals = 50_000

// span is one decoded instruction: its bytes are body[start:end].
type span struct {
	start, end int
	class      class
	nop        bool
	call       bool // call or call_indirect: the callee uses the global counter
	exits      bool // may leave the function: return, a branch to the function's label, its final end
	bulk       bool // memory.copy/fill/init, table.copy/fill/init/grow: work proportional to a count operand
	// funcRef is set for call and ref.func, whose function index moves.
	funcRef   bool
	funcIndex uint32
}

// meterer holds what rewriting a body needs.
type meterer struct {
	global uint32              // index of the fuel counter, one past the module's own globals
	types  uint32              // the module's own type count
	refuel uint32              // function index of the refuel import
	shift  func(uint32) uint32 // input function index to output function index
	// exact charges every instruction on its own: a reference count of
	// executed instructions for calibrating the segment charges.
	exact bool
	// stateful is set when some body changes instance state outside
	// memory and globals (see RestorableSection).
	stateful *bool
}

// meterBody returns a copy of a function body (locals and code) with fuel
// charges. The function keeps the counter in a local of its own, a register
// in compiled code: it loads it from the global on entry and after every
// call, and stores it back before every call and wherever the function may
// return. Each straight-line segment subtracts its cost when it starts; the
// function entry and every loop header call refuel when the counter is
// negative. params is the function's parameter count; base is the body's
// offset in the module, for errors.
func (m meterer) meterBody(body []byte, base int, params uint32) ([]byte, error) {
	r := &reader{b: body, base: base}
	groups, err := r.count(2)
	if err != nil {
		return nil, err
	}
	var locals uint64
	for range groups {
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		if locals += uint64(n); locals > maxLocals-2 { // two are the rewrite's
			return nil, r.fail("more than %d locals in one function", maxLocals)
		}
		if err := valueType(r); err != nil {
			return nil, err
		}
	}
	codeStart := r.pos
	spans, err := m.decodeSpans(r)
	if err != nil {
		return nil, err
	}

	// Two more local groups after all others, so no index moves: the
	// counter (i64) and a scratch length for bulk operations (i32).
	out := make([]byte, 0, len(body)+len(body)/2+32)
	out = appendULEB(out, uint64(groups)+2)
	groupsLen := len(appendULEB(nil, uint64(groups)))
	out = append(out, body[groupsLen:codeStart]...)
	out = append(out, 0x01, 0x7e, 0x01, 0x7f)
	a := asm{m: m, local: params + uint32(locals)}
	for _, sp := range spans {
		if op := body[sp.start]; op >= 0x20 && op <= 0x22 { // local.get/set/tee
			r := &reader{b: body[sp.start+1 : sp.end], base: base + sp.start + 1}
			// The counter local takes the first free index: an invalid
			// module must not become a valid one that writes it.
			if idx, _ := r.u32(); idx >= a.local {
				return nil, r.fail("local index %d out of range", idx)
			}
		}
	}

	out = a.load(out)
	dead := false // after br, br_table, return or unreachable, until end/else
	for i := 0; i < len(spans); {
		j := i
		for j < len(spans) && !endsSegment(spans[j].class) {
			j++
		}
		if j == len(spans) { // nothing after the function's final end
			break
		}
		cost := 0
		for k := i; k <= j; k++ {
			cost += spans[k].cost()
		}
		entry := i == 0 || spans[i-1].class == loopStart
		for k := i; k <= j; k++ {
			sp := spans[k]
			switch {
			case dead:
			case m.exact:
				out = a.charge(out, sp.cost(), entry && k == i)
			case k == i && entry:
				out = a.charge(out, cost, true)
			case k == i && cost > 1:
				// A segment of one instruction goes free: the charge would
				// cost more than the instruction.
				out = a.charge(out, cost, false)
			}
			if !dead && (sp.call || sp.exits) {
				out = a.store(out)
			}
			if !dead && sp.bulk {
				out = a.chargeLength(out)
			}
			out = m.copy(out, body, sp)
			if !dead && sp.call {
				out = a.load(out)
			}
		}
		switch spans[j].class {
		case jump:
			dead = true
		case end, elseArm:
			dead = false
		}
		i = j + 1
	}
	return out, nil
}

// asm emits the injected sequences for one function.
type asm struct {
	m     meterer
	local uint32 // the function's counter local
}

// load appends `local = global`.
func (a asm) load(out []byte) []byte {
	out = append(out, 0x23) // global.get
	out = appendULEB(out, uint64(a.m.global))
	out = append(out, 0x21) // local.set
	return appendULEB(out, uint64(a.local))
}

// store appends `global = local`.
func (a asm) store(out []byte) []byte {
	out = append(out, 0x20) // local.get
	out = appendULEB(out, uint64(a.local))
	out = append(out, 0x24) // global.set
	return appendULEB(out, uint64(a.m.global))
}

// charge appends `local -= cost`, and with check,
// `if local < 0 { global = local = refuel(local) }`.
func (a asm) charge(out []byte, cost int, check bool) []byte {
	if cost > 0 {
		out = append(out, 0x20) // local.get
		out = appendULEB(out, uint64(a.local))
		out = append(out, 0x42) // i64.const
		out = appendSLEB(out, int64(cost))
		out = append(out, 0x7d, 0x21) // i64.sub, local.set
		out = appendULEB(out, uint64(a.local))
	}
	if check {
		out = append(out, 0x20) // local.get
		out = appendULEB(out, uint64(a.local))
		out = append(out, 0x42, 0x00, 0x53, 0x04, 0x40) // i64.const 0, i64.lt_s, if
		out = append(out, 0x20)                         // local.get
		out = appendULEB(out, uint64(a.local))
		out = append(out, 0x10) // call refuel
		out = appendULEB(out, uint64(a.m.refuel))
		out = append(out, 0x22) // local.tee
		out = appendULEB(out, uint64(a.local))
		out = append(out, 0x24) // global.set
		out = appendULEB(out, uint64(a.m.global))
		out = append(out, 0x0b) // end
	}
	return out
}

// bulkShift sets the price of bulk operations: one unit per 16 bytes (or
// table entries), about what a copy loop in the module would pay.
const bulkShift = 4

// chargeLength appends, before a bulk operation whose length is the top
// operand, `local -= length >> bulkShift`, leaving the operand in place.
// The check at the next loop header or function entry collects the debt.
func (a asm) chargeLength(out []byte) []byte {
	scratch := uint64(a.local + 1)
	out = append(out, 0x22) // local.tee scratch: the length stays on the stack
	out = appendULEB(out, scratch)
	out = append(out, 0x20) // local.get counter
	out = appendULEB(out, uint64(a.local))
	out = append(out, 0x20) // local.get scratch
	out = appendULEB(out, scratch)
	out = append(out, 0xad, 0x42, bulkShift, 0x88, 0x7d) // i64.extend_i32_u, i64.const, i64.shr_u, i64.sub
	out = append(out, 0x21)                              // local.set counter
	return appendULEB(out, uint64(a.local))
}

// copy appends one instruction, renumbering its function index if it has one.
func (m meterer) copy(out, body []byte, s span) []byte {
	if !s.funcRef {
		return append(out, body[s.start:s.end]...)
	}
	out = append(out, body[s.start])
	return appendULEB(out, uint64(m.shift(s.funcIndex)))
}

// cost is the fuel an instruction charges: one for each instruction that
// does work, none for block, loop, end, else and nop, which compile to no
// machine code. Counting them made Go code, which wraps each function in a
// loop around dozens of nested blocks, look several times more expensive
// than it is.
func (s span) cost() int {
	switch s.class {
	case blockStart, loopStart, end, elseArm:
		return 0
	}
	if s.nop {
		return 0
	}
	return 1
}

func endsSegment(c class) bool {
	return c != plain && c != blockStart
}

// decodeSpans decodes every instruction of a body, checks that blocks nest
// and that the final end is the last byte, and notes which instructions
// call or may leave the function.
func (m meterer) decodeSpans(r *reader) ([]span, error) {
	var spans []span
	var stack []class // open blockStart/loopStart/ifStart/elseArm
	for !r.eof() {
		start := r.pos
		op, _ := r.byte()
		c, err := instruction(r, op)
		if err != nil {
			return nil, err
		}
		imm := r.b[start+1 : r.pos]
		if err := m.checkIndices(op, imm, r.base+start); err != nil {
			return nil, err
		}
		sp := span{start: start, end: r.pos, class: c, nop: op == 0x01}
		switch op {
		case 0x10: // call
			sp.call, sp.funcRef = true, true
			sp.funcIndex, _ = (&reader{b: imm}).u32()
		case 0x11: // call_indirect
			sp.call = true
		case 0xd2: // ref.func
			sp.funcRef = true
			sp.funcIndex, _ = (&reader{b: imm}).u32()
		case 0xfc:
			// memory.init, memory.copy, memory.fill, table.init,
			// table.copy, table.grow, table.fill: the length (for
			// table.grow, the number of new elements, which the engine
			// allocates and fills) is the top operand.
			sub, _ := (&reader{b: imm}).u32()
			switch sub {
			case 8, 10, 11, 12, 14, 15, 17:
				sp.bulk = true
			}
			switch sub {
			case 9, 12, 13, 14, 15, 17: // data.drop, table.init, elem.drop, table.copy/grow/fill
				*m.stateful = true
			}
		case 0x26: // table.set
			*m.stateful = true
		case 0x0f: // return
			sp.exits = true
		case 0x0c, 0x0d, 0x0e: // br, br_if, br_table
			sp.exits = branchesToFunction(imm, op == 0x0e, uint32(len(stack)))
		}
		switch c {
		case blockStart, loopStart, ifStart:
			stack = append(stack, c)
		case elseArm:
			if len(stack) == 0 || stack[len(stack)-1] != ifStart {
				return nil, r.fail("else outside an if")
			}
			stack[len(stack)-1] = elseArm
		case end:
			if len(stack) == 0 {
				if !r.eof() {
					return nil, r.fail("instructions after the function's final end")
				}
				sp.exits = true
				return append(spans, sp), nil
			}
			stack = stack[:len(stack)-1]
		}
		spans = append(spans, sp)
	}
	return nil, r.fail("function body has no final end")
}

// branchesToFunction reports whether a branch may target the function's
// own label, which is label depth when depth blocks are open: such a branch
// returns from the function.
func branchesToFunction(imm []byte, table bool, depth uint32) bool {
	r := &reader{b: imm}
	n := uint32(1)
	if table {
		count, _ := r.u32()
		n = count + 1
	}
	for range n {
		if label, _ := r.u32(); label >= depth {
			return true
		}
	}
	return false
}

// checkIndices refuses global and type indices past the module's own: the
// rewrite appends a global (the fuel counter) and a type, and an invalid
// module must not become a valid one that writes its own fuel.
func (m meterer) checkIndices(op byte, imm []byte, offset int) error {
	r := &reader{b: imm, base: offset + 1}
	switch op {
	case 0x23, 0x24: // global.get, global.set
		if idx, _ := r.u32(); idx >= m.global {
			return r.fail("global index %d out of range", idx)
		}
	case 0x11: // call_indirect
		if idx, _ := r.u32(); idx >= m.types {
			return r.fail("type index %d out of range", idx)
		}
	case 0x02, 0x03, 0x04: // block types that are type indices
		if len(imm) > 0 && imm[0] != 0x40 && (imm[0] < 0x6f || imm[0] > 0x7f) {
			if idx, _ := r.sleb(33); idx >= int64(m.types) {
				return r.fail("type index %d out of range", idx)
			}
		}
	}
	return nil
}
