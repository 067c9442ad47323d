package fuel

// maxLocals bounds the locals of one function, as engines do (wasmtime and
// V8 use 50,000): wazero would otherwise allocate whatever a body declares.
const maxLocals = 50_000

// span is one decoded instruction: its bytes are body[start:end].
type span struct {
	start, end int
	class      class
	nop        bool
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
}

// meterBody returns a copy of a function body (locals and code) with fuel
// charges: each straight-line segment charges its cost when it starts, and
// the function entry and every loop header also call refuel when the
// counter is negative. base is the body's offset in the module, for errors.
func (m meterer) meterBody(body []byte, base int) ([]byte, error) {
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
		if locals += uint64(n); locals > maxLocals {
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

	out := make([]byte, 0, len(body)+len(body)/2+32)
	out = append(out, body[:codeStart]...)
	// Walk segments: a segment starts at the entry and after every
	// instruction that can transfer control (or be a branch target).
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
		switch {
		case dead:
		case m.exact:
			for k := i; k <= j; k++ {
				out = m.charge(out, spans[k].cost(), entry && k == i)
				out = m.copy(out, body, spans[k])
			}
			i = j + 1
			dead = spans[j].class == jump
			continue
		case entry:
			out = m.charge(out, cost, true)
		case cost > 1:
			// A segment of one instruction goes free: the charge would cost
			// more than the instruction.
			out = m.charge(out, cost, false)
		}
		for k := i; k <= j; k++ {
			out = m.copy(out, body, spans[k])
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

// copy appends one instruction, renumbering its function index if it has one.
func (m meterer) copy(out, body []byte, s span) []byte {
	if !s.funcRef {
		return append(out, body[s.start:s.end]...)
	}
	out = append(out, body[s.start])
	return appendULEB(out, uint64(m.shift(s.funcIndex)))
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

// charge appends `counter -= cost`, and with check,
// `if counter < 0 { counter = refuel(counter) }`.
func (m meterer) charge(out []byte, cost int, check bool) []byte {
	if cost > 0 {
		out = append(out, 0x23) // global.get
		out = appendULEB(out, uint64(m.global))
		out = append(out, 0x42) // i64.const
		out = appendSLEB(out, int64(cost))
		out = append(out, 0x7d, 0x24) // i64.sub, global.set
		out = appendULEB(out, uint64(m.global))
	}
	if check {
		out = append(out, 0x23) // global.get
		out = appendULEB(out, uint64(m.global))
		out = append(out, 0x42, 0x00, 0x53, 0x04, 0x40) // i64.const 0, i64.lt_s, if
		out = append(out, 0x23)                         // global.get
		out = appendULEB(out, uint64(m.global))
		out = append(out, 0x10) // call refuel
		out = appendULEB(out, uint64(m.refuel))
		out = append(out, 0x24) // global.set
		out = appendULEB(out, uint64(m.global))
		out = append(out, 0x0b) // end
	}
	return out
}

// decodeSpans decodes every instruction of a body and checks that blocks
// nest and that the final end is the last byte.
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
		if err := m.checkIndices(op, r.b[start+1:r.pos], r.base+start); err != nil {
			return nil, err
		}
		sp := span{start: start, end: r.pos, class: c, nop: op == 0x01}
		if op == 0x10 || op == 0xd2 { // call, ref.func
			idx := &reader{b: r.b[start+1 : r.pos]}
			sp.funcIndex, _ = idx.u32()
			sp.funcRef = true
		}
		spans = append(spans, sp)
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
				return spans, nil
			}
			stack = stack[:len(stack)-1]
		}
	}
	return nil, r.fail("function body has no final end")
}
