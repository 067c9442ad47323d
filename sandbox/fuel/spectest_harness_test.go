package fuel_test

// A differential runner for wast2json scripts: every command is executed in
// two worlds, "raw" (the module as given) and "instrumented" (the output of an
// instrumentFunc), each with its own wazero runtime. Every assertion must hold
// in the raw world against the JSON expectation (which checks the harness
// itself) and the instrumented world must behave the same as the raw one.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

// specInstrumentFunc turns a module into its metered form. The spec test passes
// specInstrument (spectest_test.go); the sanity tests pass broken ones.
type specInstrumentFunc func(wasm []byte) ([]byte, error)

// specHugeFuel is the budget the instrumented world runs with: large enough that
// nothing in the suite runs out, so any fuel trap is a metering bug.
const specHugeFuel = int64(1) << 62

// specMaxFailures stops a script after this many failures, since later
// commands usually depend on earlier state.
const specMaxFailures = 25

type specScript struct {
	SourceFilename string        `json:"source_filename"`
	Commands       []specCommand `json:"commands"`
}

type specCommand struct {
	Type       string      `json:"type"`
	Line       int         `json:"line"`
	Name       string      `json:"name"`
	As         string      `json:"as"`
	Filename   string      `json:"filename"`
	ModuleType string      `json:"module_type"`
	Text       string      `json:"text"`
	Action     *specAction `json:"action"`
	Expected   []specValue `json:"expected"`
}

type specAction struct {
	Type   string      `json:"type"`
	Module string      `json:"module"`
	Field  string      `json:"field"`
	Args   []specValue `json:"args"`
}

// specStats counts what ran and what was skipped (with the reason).
type specStats struct {
	Files int
	// Ran counts executed commands by kind ("module", "assert_return(invoke)", ...).
	Ran map[string]int
	// Skipped counts commands that were not executed, by "kind: reason".
	Skipped map[string]int
	// Deviations counts commands where wazero itself deviates from the spec
	// expectation; both worlds were still required to agree.
	Deviations map[string]int
	// Metered counts instantiated instrumented modules that exported the fuel
	// global; Unmetered those that did not (only allowed for identical bytes).
	Metered, Unmetered int
	// Identity counts modules that the instrumenter returned unchanged.
	Identity, Rewritten int
	// FuelCharged sums the fuel used by invocations in the instrumented world.
	FuelCharged int64
	// HostCalls counts calls to the spectest print functions (per world; both agree).
	HostCalls int
}

func newSpecStats() *specStats {
	return &specStats{Ran: map[string]int{}, Skipped: map[string]int{}, Deviations: map[string]int{}}
}

func (s *specStats) add(o *specStats) {
	s.Files += o.Files
	for k, v := range o.Ran {
		s.Ran[k] += v
	}
	for k, v := range o.Skipped {
		s.Skipped[k] += v
	}
	for k, v := range o.Deviations {
		s.Deviations[k] += v
	}
	s.Metered += o.Metered
	s.Unmetered += o.Unmetered
	s.Identity += o.Identity
	s.Rewritten += o.Rewritten
	s.FuelCharged += o.FuelCharged
	s.HostCalls += o.HostCalls
}

func specSortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func (s *specStats) total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func (s *specStats) String() string {
	return fmt.Sprintf("files=%d ran=%d [%s] skipped=%d [%s] wazero-deviations=%d [%s] "+
		"instrumented: rewritten=%d identity=%d metered-instances=%d unmetered-instances=%d fuel-charged=%d host-calls/world=%d",
		s.Files, s.total(s.Ran), specSortedCounts(s.Ran), s.total(s.Skipped), specSortedCounts(s.Skipped),
		s.total(s.Deviations), specSortedCounts(s.Deviations),
		s.Rewritten, s.Identity, s.Metered, s.Unmetered, s.FuelCharged, s.HostCalls)
}

// specKnownWazeroDeviation explains assertions where wazero v1.12 (raw, no
// instrumentation involved) does not do what the spec says; see wazero's own
// harness, internal/integration_test/spectest/spectest.go. Those commands
// still run in both worlds, which must agree with each other.
func specKnownWazeroDeviation(c *specCommand) string {
	if c.Type == "assert_uninstantiable" && c.Text == "out of bounds table access" {
		return "wazero instantiates a module whose active element segment is out of bounds after applying earlier segments"
	}
	return ""
}

// specTrapText maps the spec's trap text to wazero's ("wasm error: <text>").
func specTrapText(spec string) (string, bool) {
	switch spec {
	case "out of bounds memory access", "integer divide by zero", "integer overflow",
		"invalid conversion to integer", "unreachable", "indirect call type mismatch":
		return spec, true
	case "indirect call":
		return "indirect call type mismatch", true
	case "undefined element", "undefined", "out of bounds table access", "uninitialized":
		return "invalid table access", true
	case "call stack exhausted":
		return "stack overflow", true
	case "null", "null reference", "null function reference", "null function":
		return "null reference", true
	}
	if strings.HasPrefix(spec, "uninitialized element") {
		return "invalid table access", true
	}
	return "", false
}

// specTrapOf extracts wazero's trap message from a call error ("" if the error is
// not a Wasm trap). Traps are reported as "wasm error: <text>" plus a stack
// trace, except stack overflow, which wazero's compiler returns bare.
func specTrapOf(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if msg == "stack overflow" {
		return msg
	}
	i := strings.Index(msg, "wasm error: ")
	if i < 0 {
		return ""
	}
	msg = msg[i+len("wasm error: "):]
	if j := strings.IndexByte(msg, '\n'); j >= 0 {
		msg = msg[:j]
	}
	return msg
}

// specInstantiationTrap is specTrapOf for instantiation failures, where wazero also
// reports an out-of-bounds active segment as "data[N]: <text>" or
// "elem[N]: <text>" rather than as a trap.
func specInstantiationTrap(err error) string {
	if t := specTrapOf(err); t != "" {
		return t
	}
	msg := specFirstLine(err)
	for _, prefix := range []string{"data[", "elem["} {
		if strings.HasPrefix(msg, prefix) {
			if i := strings.Index(msg, "]: "); i > 0 {
				return msg[i+len("]: "):]
			}
		}
	}
	return ""
}

func specFirstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// specWorld is one side of the differential test.
type specWorld struct {
	name       string
	ctx        context.Context
	rt         wazero.Runtime
	instrument specInstrumentFunc // nil for the raw world
	registry   map[string]api.Module
	named      map[string]api.Module
	current    api.Module
	metered    []api.Global // fuel globals of every instance, to detect exhaustion anywhere
	hostLog    []string     // print calls since the last command
	stats      *specStats
}

func newSpecWorld(ctx context.Context, name string, features api.CoreFeatures, instrument specInstrumentFunc, stats *specStats) (*specWorld, error) {
	w := &specWorld{
		name:       name,
		instrument: instrument,
		registry:   map[string]api.Module{},
		named:      map[string]api.Module{},
		stats:      stats,
	}
	w.rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(features))
	// Registered names are resolved through our own map, so that "register"
	// works at any point, under any number of names, and instances stay
	// anonymous in the store (no clashes with module names in name sections).
	w.ctx = experimental.WithImportResolver(ctx, func(name string) api.Module {
		if m, ok := w.registry[name]; ok {
			return m
		}
		return nil
	})
	if err := w.instantiateSpectest(); err != nil {
		_ = w.rt.Close(ctx)
		return nil, err
	}
	if instrument != nil {
		// The refuel function every instrumented module imports: it grants
		// the same huge budget the harness sets, so nothing runs out.
		_, err := w.rt.NewHostModuleBuilder(fuel.ImportModule).NewFunctionBuilder().
			WithFunc(func(context.Context, int64) int64 { return specHugeFuel }).
			Export(fuel.ImportName).Instantiate(ctx)
		if err != nil {
			_ = w.rt.Close(ctx)
			return nil, fmt.Errorf("refuel host module: %w", err)
		}
	}
	return w, nil
}

func (w *specWorld) close() { _ = w.rt.Close(context.Background()) }

const spectestHostModule = "kiln.spectest.host"

// instantiateSpectest provides the "spectest" module that the suite imports
// (see the spec interpreter's script/js.ml and wazero's testdata/spectest.wat).
// The print functions are Go host functions that log their arguments, so
// that host calls are compared between the worlds too; the spectest module
// itself is the same uninstrumented Wasm in both worlds (it stands for the host).
func (w *specWorld) instantiateSpectest() error {
	logf := func(format string, args ...any) { w.hostLog = append(w.hostLog, fmt.Sprintf(format, args...)) }
	h := w.rt.NewHostModuleBuilder(spectestHostModule)
	h.NewFunctionBuilder().WithFunc(func(context.Context) { logf("print()") }).Export("print")
	h.NewFunctionBuilder().WithFunc(func(_ context.Context, a uint32) { logf("print_i32(%d)", a) }).Export("print_i32")
	h.NewFunctionBuilder().WithFunc(func(_ context.Context, a uint64) { logf("print_i64(%d)", a) }).Export("print_i64")
	h.NewFunctionBuilder().WithFunc(func(_ context.Context, a float32) {
		logf("print_f32(%#x)", math.Float32bits(a))
	}).Export("print_f32")
	h.NewFunctionBuilder().WithFunc(func(_ context.Context, a float64) {
		logf("print_f64(%#x)", math.Float64bits(a))
	}).Export("print_f64")
	h.NewFunctionBuilder().WithFunc(func(_ context.Context, a uint32, b float32) {
		logf("print_i32_f32(%d, %#x)", a, math.Float32bits(b))
	}).Export("print_i32_f32")
	h.NewFunctionBuilder().WithFunc(func(_ context.Context, a, b float64) {
		logf("print_f64_f64(%#x, %#x)", math.Float64bits(a), math.Float64bits(b))
	}).Export("print_f64_f64")
	_, err := h.Instantiate(w.ctx)
	if err != nil {
		return fmt.Errorf("spectest host module: %w", err)
	}
	m, err := w.rt.InstantiateWithConfig(w.ctx, spectestWasm(), wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return fmt.Errorf("spectest module: %w", err)
	}
	w.registry["spectest"] = m
	return nil
}

// errSpecInstrument marks an error returned by the instrumenter itself.
var errSpecInstrument = errors.New("instrument")

// load compiles and instantiates a module as this world does it. For the
// instrumented world: instrument, instantiate (a start section runs on fuel
// from the refuel host function), then fill the fuel counter.
func (w *specWorld) load(bin []byte) (api.Module, error) {
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	if w.instrument == nil {
		return w.rt.InstantiateWithConfig(w.ctx, bin, cfg)
	}
	out, err := w.instrument(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSpecInstrument, err)
	}
	identity := bytes.Equal(out, bin)
	if identity {
		w.stats.Identity++
	} else {
		w.stats.Rewritten++
	}
	m, err := w.rt.InstantiateWithConfig(w.ctx, out, cfg)
	if err != nil {
		return nil, err
	}
	g, err := specFuelGlobal(m)
	if err != nil {
		_ = m.Close(w.ctx)
		return nil, err
	}
	if g == nil {
		if !identity {
			_ = m.Close(w.ctx)
			return nil, fmt.Errorf("instrumented module does not export the %q global", fuel.GlobalExport)
		}
		w.stats.Unmetered++
	} else {
		w.stats.Metered++
		g.Set(uint64(specHugeFuel))
		w.metered = append(w.metered, g)
	}
	return m, nil
}

// specFuelGlobal returns the module's fuel counter, nil if it has none, or an
// error if it exists with the wrong type.
func specFuelGlobal(m api.Module) (api.MutableGlobal, error) {
	g := m.ExportedGlobal(fuel.GlobalExport)
	if g == nil {
		return nil, nil
	}
	mg, ok := g.(api.MutableGlobal)
	if !ok || g.Type() != api.ValueTypeI64 {
		return nil, fmt.Errorf("export %q is not a mutable i64 global (type %s, mutable %v)", fuel.GlobalExport, api.ValueTypeName(g.Type()), ok)
	}
	return mg, nil
}

// checkFuel reports a negative fuel counter anywhere: with hugeFuel nothing
// may run out, so this is a metering bug (and the only way to tell a fuel
// trap from a real "unreachable").
func (w *specWorld) checkFuel() error {
	for _, g := range w.metered {
		if v := int64(g.Get()); v < 0 {
			return fmt.Errorf("fuel exhausted (counter %d) despite a budget of %d", v, specHugeFuel)
		}
	}
	return nil
}

func (w *specWorld) module(name string) (api.Module, error) {
	if name == "" {
		if w.current == nil {
			return nil, errors.New("no current module")
		}
		return w.current, nil
	}
	m, ok := w.named[name]
	if !ok || m == nil {
		return nil, fmt.Errorf("no module named %s", name)
	}
	return m, nil
}

// invoke calls an export; in the instrumented world, the fuel of the invoked
// module is reset first, and the fuel used is accounted afterwards.
func (w *specWorld) invoke(a *specAction, args []uint64) ([]uint64, error) {
	m, err := w.module(a.Module)
	if err != nil {
		return nil, err
	}
	fn := m.ExportedFunction(a.Field)
	if fn == nil {
		return nil, fmt.Errorf("no exported function %q", a.Field)
	}
	var g api.MutableGlobal
	if w.instrument != nil {
		if g, err = specFuelGlobal(m); err != nil {
			return nil, err
		}
		if g != nil {
			g.Set(uint64(specHugeFuel))
		}
	}
	res, callErr := fn.Call(w.ctx, args...)
	if w.instrument != nil {
		if err := w.checkFuel(); err != nil {
			return nil, err
		}
		if g != nil {
			w.stats.FuelCharged += specHugeFuel - int64(g.Get())
		}
	}
	if callErr != nil {
		return nil, &specCallError{callErr}
	}
	// Call may reuse its result slice.
	return append([]uint64(nil), res...), nil
}

// specCallError wraps an error returned by the Wasm call itself (as opposed to
// a harness-level problem such as a missing export or exhausted fuel).
type specCallError struct{ err error }

func (e *specCallError) Error() string { return e.err.Error() }
func (e *specCallError) Unwrap() error { return e.err }

func (w *specWorld) get(a *specAction) ([]uint64, error) {
	m, err := w.module(a.Module)
	if err != nil {
		return nil, err
	}
	g := m.ExportedGlobal(a.Field)
	if g == nil {
		return nil, fmt.Errorf("no exported global %q", a.Field)
	}
	return []uint64{g.Get()}, nil
}

func (w *specWorld) takeHostLog() []string {
	l := w.hostLog
	w.hostLog = nil
	return l
}

// specScriptRunner executes one wast2json script in both worlds.
type specScriptRunner struct {
	fsys     fs.FS
	dir      string
	script   string // for messages
	raw      *specWorld
	inst     *specWorld
	stats    *specStats
	failures []string
	cmd      *specCommand
}

func (r *specScriptRunner) failf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf("%s:%d %s: %s", r.script, r.cmd.Line, r.cmd.Type, fmt.Sprintf(format, args...)))
}

func (r *specScriptRunner) skip(reason string) {
	r.stats.Skipped[r.cmd.Type+": "+reason]++
}

// runSpecScript runs the wast2json file jsonPath (relative to fsys) with the
// given features, instrumenting with instrument, and returns what ran and the
// failures (empty when raw matches the JSON and instrumented matches raw).
func runSpecScript(fsys fs.FS, jsonPath string, features api.CoreFeatures, instrument specInstrumentFunc) (*specStats, []string) {
	stats := newSpecStats()
	stats.Files = 1
	r := &specScriptRunner{fsys: fsys, dir: path.Dir(jsonPath), script: jsonPath, stats: stats}
	r.cmd = &specCommand{Type: "load"}
	raw, err := fs.ReadFile(fsys, jsonPath)
	if err != nil {
		r.failf("%v", err)
		return stats, r.failures
	}
	var s specScript
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // a field we do not know about is a command we may mishandle
	if err := dec.Decode(&s); err != nil {
		r.failf("parsing: %v", err)
		return stats, r.failures
	}
	if len(s.Commands) == 0 {
		r.failf("no commands")
		return stats, r.failures
	}
	ctx := context.Background()
	if r.raw, err = newSpecWorld(ctx, "raw", features, nil, stats); err != nil {
		r.failf("%v", err)
		return stats, r.failures
	}
	defer r.raw.close()
	if r.inst, err = newSpecWorld(ctx, "instrumented", features, instrument, stats); err != nil {
		r.failf("%v", err)
		return stats, r.failures
	}
	defer r.inst.close()

	for i := range s.Commands {
		r.cmd = &s.Commands[i]
		r.run()
		rawLog, instLog := r.raw.takeHostLog(), r.inst.takeHostLog()
		stats.HostCalls += len(rawLog)
		if strings.Join(rawLog, ";") != strings.Join(instLog, ";") {
			r.failf("host calls differ: raw %v, instrumented %v", rawLog, instLog)
		}
		if len(r.failures) >= specMaxFailures {
			r.cmd = &specCommand{Type: "abort", Line: r.cmd.Line}
			r.failf("too many failures; remaining %d commands not run", len(s.Commands)-i-1)
			break
		}
	}
	return stats, r.failures
}

func specIsTextModule(c *specCommand) bool {
	return c.ModuleType == "text" || strings.HasSuffix(c.Filename, ".wat") || strings.HasSuffix(c.Filename, ".wast")
}

func (r *specScriptRunner) readModule() ([]byte, bool) {
	if r.cmd.Filename == "" {
		r.failf("command has no filename")
		return nil, false
	}
	bin, err := fs.ReadFile(r.fsys, path.Join(r.dir, r.cmd.Filename))
	if err != nil {
		r.failf("%v", err)
		return nil, false
	}
	return bin, true
}

func (r *specScriptRunner) run() {
	c := r.cmd
	switch c.Type {
	case "module":
		if specIsTextModule(c) {
			// Later commands refer to this module: they will fail as
			// "no current module", which is loud, not silent.
			r.skip("text-format module (.wat) cannot be loaded")
			r.raw.current, r.inst.current = nil, nil
			return
		}
		bin, ok := r.readModule()
		if !ok {
			return
		}
		rm, rerr := r.raw.load(bin)
		im, ierr := r.inst.load(bin)
		r.raw.current, r.inst.current = rm, im
		if c.Name != "" {
			r.raw.named[c.Name], r.inst.named[c.Name] = rm, im
		}
		if rerr != nil {
			r.failf("%s: raw module failed to instantiate: %v", c.Filename, specFirstLine(rerr))
			return
		}
		if ierr != nil {
			r.failf("%s: instrumented module failed to instantiate: %v", c.Filename, specFirstLine(ierr))
			return
		}
		r.stats.Ran["module"]++

	case "register":
		for _, w := range []*specWorld{r.raw, r.inst} {
			m, err := w.module(c.Name)
			if err != nil {
				r.failf("%s world: %v", w.name, err)
				return
			}
			w.registry[c.As] = m
		}
		r.stats.Ran["register"]++

	case "action", "assert_return":
		if c.Action == nil {
			r.failf("no action")
			return
		}
		kind := c.Type + "(" + c.Action.Type + ")"
		var rawRes, instRes []uint64
		var rawErr, instErr error
		switch c.Action.Type {
		case "invoke":
			args, err := specEncodeArgs(c.Action.Args)
			if err != nil {
				r.failf("%v", err)
				return
			}
			rawRes, rawErr = r.raw.invoke(c.Action, args)
			instRes, instErr = r.inst.invoke(c.Action, args)
		case "get":
			rawRes, rawErr = r.raw.get(c.Action)
			instRes, instErr = r.inst.get(c.Action)
		default:
			r.failf("unknown action type %q", c.Action.Type)
			return
		}
		if rawErr != nil {
			r.failf("%s %q: raw: %v", c.Action.Type, c.Action.Field, specFirstLine(rawErr))
			return
		}
		if instErr != nil {
			r.failf("%s %q: instrumented: %v (raw succeeded)", c.Action.Type, c.Action.Field, specFirstLine(instErr))
			return
		}
		if c.Type == "assert_return" {
			if err := specCheckExpected(c.Expected, rawRes); err != nil {
				r.failf("%s %q%v: raw: %v", c.Action.Type, c.Action.Field, c.Action.Args, err)
				return
			}
			if err := specCheckExpected(c.Expected, instRes); err != nil {
				r.failf("%s %q%v: instrumented: %v", c.Action.Type, c.Action.Field, c.Action.Args, err)
				return
			}
		}
		if err := specSameResults(c.Expected, rawRes, instRes); err != nil {
			r.failf("%s %q%v: %v", c.Action.Type, c.Action.Field, c.Action.Args, err)
			return
		}
		r.stats.Ran[kind]++

	case "assert_trap", "assert_exhaustion":
		if c.Action == nil || c.Action.Type != "invoke" {
			r.failf("unsupported action %+v", c.Action)
			return
		}
		want, ok := specTrapText(c.Text)
		if !ok {
			r.failf("unknown trap text %q", c.Text)
			return
		}
		args, err := specEncodeArgs(c.Action.Args)
		if err != nil {
			r.failf("%v", err)
			return
		}
		_, rawErr := r.raw.invoke(c.Action, args)
		_, instErr := r.inst.invoke(c.Action, args)
		var ce *specCallError
		if got := specTrapOf(rawErr); got != want || !errors.As(rawErr, &ce) {
			r.failf("invoke %q%v: raw: got %v, want trap %q", c.Action.Field, c.Action.Args, specFirstLine(rawErr), want)
			return
		}
		if got := specTrapOf(instErr); got != want || !errors.As(instErr, &ce) {
			r.failf("invoke %q%v: instrumented: got %v, want trap %q (as raw)", c.Action.Field, c.Action.Args, specFirstLine(instErr), want)
			return
		}
		r.stats.Ran[c.Type]++

	case "assert_invalid", "assert_malformed", "assert_unlinkable", "assert_uninstantiable":
		if specIsTextModule(c) {
			r.skip("text-format module (.wat) cannot be loaded")
			return
		}
		bin, ok := r.readModule()
		if !ok {
			return
		}
		rm, rawErr := r.raw.load(bin)
		im, instErr := r.inst.load(bin)
		// A module that (wrongly) instantiated stays alive in the store but is
		// never current or named, as in the spec.
		_, _ = rm, im
		if dev := specKnownWazeroDeviation(c); dev != "" && rawErr == nil {
			if instErr != nil {
				r.failf("%s (%q): raw instantiated (known wazero deviation), instrumented failed: %v", c.Filename, c.Text, specFirstLine(instErr))
				return
			}
			r.stats.Deviations[c.Type+": "+dev]++
			r.stats.Ran[c.Type]++
			return
		}
		if rawErr == nil {
			r.failf("%s (%q): raw module loaded, want failure", c.Filename, c.Text)
			return
		}
		if instErr == nil {
			r.failf("%s (%q): instrumented module loaded, want failure (raw: %v)", c.Filename, c.Text, specFirstLine(rawErr))
			return
		}
		if c.Type == "assert_uninstantiable" {
			// Failing at run time (a trap in the start function or an out of
			// bounds segment): the same trap in both worlds, not an
			// instrumenter error.
			want, ok := specTrapText(c.Text)
			if !ok {
				r.failf("unknown trap text %q", c.Text)
				return
			}
			if got := specInstantiationTrap(rawErr); got != want {
				r.failf("%s: raw: got %v, want trap %q", c.Filename, specFirstLine(rawErr), want)
				return
			}
			if got := specInstantiationTrap(instErr); got != want {
				r.failf("%s: instrumented: got %v, want trap %q (as raw)", c.Filename, specFirstLine(instErr), want)
				return
			}
		}
		if errors.Is(instErr, errSpecInstrument) {
			r.stats.Ran[c.Type+"(rejected by instrumenter)"]++
		} else {
			r.stats.Ran[c.Type]++
		}

	default:
		r.failf("unknown command type %q", c.Type)
	}
}

// --- A minimal WebAssembly binary encoder (for the spectest module and the
// hand-made modules of the sanity tests).

func specULEB(v uint64) []byte {
	var b []byte
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

func specSLEB(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func specName(s string) []byte { return append(specULEB(uint64(len(s))), s...) }

func specCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// specVec encodes a vector: its length, then its items.
func specVec(items ...[]byte) []byte { return specCat(specULEB(uint64(len(items))), specCat(items...)) }

func specSection(id byte, payload []byte) []byte {
	return specCat([]byte{id}, specULEB(uint64(len(payload))), payload)
}

func specBinary(sections ...[]byte) []byte {
	return specCat([]byte("\x00asm\x01\x00\x00\x00"), specCat(sections...))
}

// specFuncType encodes (params) -> (results) with value type bytes.
func specFuncType(params, results []byte) []byte {
	return specCat([]byte{0x60}, specULEB(uint64(len(params))), params, specULEB(uint64(len(results))), results)
}

// specBody encodes a function body without locals; code must end with 0x0b.
func specBody(code ...byte) []byte {
	b := specCat([]byte{0x00}, code)
	return specCat(specULEB(uint64(len(b))), b)
}

const (
	specI32 = api.ValueTypeI32
	specI64 = api.ValueTypeI64
	specF32 = api.ValueTypeF32
	specF64 = api.ValueTypeF64
)

var (
	spectestOnce sync.Once
	spectestBin  []byte
)

// spectestWasm encodes the "spectest" module: the print functions are
// re-exports of the host module's Go functions.
func spectestWasm() []byte {
	spectestOnce.Do(func() {
		prints := []struct {
			name   string
			params []byte
		}{
			{"print", nil}, {"print_i32", []byte{specI32}}, {"print_i64", []byte{specI64}},
			{"print_f32", []byte{specF32}}, {"print_f64", []byte{specF64}},
			{"print_i32_f32", []byte{specI32, specF32}}, {"print_f64_f64", []byte{specF64, specF64}},
		}
		var types, imports, exports [][]byte
		for i, p := range prints {
			types = append(types, specFuncType(p.params, nil))
			imports = append(imports, specCat(specName(spectestHostModule), specName(p.name), []byte{0x00}, specULEB(uint64(i))))
			exports = append(exports, specCat(specName(p.name), []byte{0x00}, specULEB(uint64(i))))
		}
		f32b := binary.LittleEndian.AppendUint32(nil, math.Float32bits(666.6))
		f64b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(666.6))
		globals := [][]byte{
			specCat([]byte{specI32, 0x00, 0x41}, specSLEB(666), []byte{0x0b}),
			specCat([]byte{specI64, 0x00, 0x42}, specSLEB(666), []byte{0x0b}),
			specCat([]byte{specF32, 0x00, 0x43}, f32b, []byte{0x0b}),
			specCat([]byte{specF64, 0x00, 0x44}, f64b, []byte{0x0b}),
		}
		for i, n := range []string{"global_i32", "global_i64", "global_f32", "global_f64"} {
			exports = append(exports, specCat(specName(n), []byte{0x03}, specULEB(uint64(i))))
		}
		exports = append(exports,
			specCat(specName("table"), []byte{0x01, 0x00}),
			specCat(specName("memory"), []byte{0x02, 0x00}))
		spectestBin = specBinary(
			specSection(1, specVec(types...)),
			specSection(2, specVec(imports...)),
			specSection(4, specVec([]byte{0x70, 0x01, 10, 20})), // funcref table, min 10, max 20
			specSection(5, specVec([]byte{0x01, 1, 2})),         // memory, 1 page, max 2
			specSection(6, specVec(globals...)),
			specSection(7, specVec(exports...)),
		)
	})
	return spectestBin
}
