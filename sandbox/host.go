package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/kilnhq/kiln/sandbox/egress"
)

// HostModule is the import module name of Kiln's host functions.
const HostModule = "kiln"

// callState is what the host functions of one call share with Call. It
// travels in the context, so one host module instance serves every call.
type callState struct {
	limits Limits
	meter  *meter
	http   *egress.Client // nil: no network for this call
	// pendingHTTP is the response document kiln.http_request produced and
	// kiln.http_response has not collected yet.
	pendingHTTP []byte
	result      []byte
	resultSet   bool
	logs        logSink
	// sysBytes is the size of the module's arguments and environment,
	// which args_get and environ_get copy (see hostPrice).
	sysBytes uint32
	// input is a reactor's call document (reactor.go), which it collects
	// once with kiln.call_input.
	input      []byte
	inputTaken bool
	// wasiTouched: the module called a WASI function that may change
	// state outside its memory (a descriptor), so its instance is not
	// restored but discarded (hostfuel.go).
	wasiTouched bool
	// oneOff: the instance serves this call only (describe), so no warm
	// pool is made for it.
	oneOff bool
	// notify bounds and passes on what the module tells its caller during
	// the call (ABI v2, notify.go).
	notify notifySink
	// tape records or replays what the guest reads from the host (clocks,
	// random bytes, HTTP responses); nil, the usual case, records nothing
	// (record.go).
	tape *tape
	// replay is set when the call replays a recorded one (replay.go).
	replay *replayPlan
	// epoch is the engine's start, from which the guest's monotonic clock
	// counts.
	epoch time.Time
	// questions answers the module's requests for input through
	// Request.Inputs, or stops the call at one it does not answer (ABI v2,
	// input.go).
	questions inputState
}

type callStateKey struct{}

func stateFrom(ctx context.Context) *callState {
	s, _ := ctx.Value(callStateKey{}).(*callState)
	if s == nil {
		// Only Engine.run instantiates modules with these imports;
		// reaching here means a host bug, not a guest one.
		panic("sandbox: host function called outside a call")
	}
	return s
}

// hostError is a guest misuse of a host function; it ends the call as a trap.
type hostError struct{ msg string }

func (e *hostError) Error() string { return e.msg }

func readGuest(mod api.Module, fn string, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(&hostError{fmt.Sprintf("%s.%s: range [%d, %d) is outside memory", HostModule, fn, ptr, uint64(ptr)+uint64(n))})
	}
	return b
}

// instantiateHost registers the kiln host functions with the runtime: ABI
// v1's, and what ABI v2 adds: progress and log_message (notify.go), and
// elicit, sample, list_roots and input_response (input.go). Their
// fuel is charged by hostPricing, which ctx carries.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	i32, f64 := api.ValueTypeI32, api.ValueTypeF64
	_, err := rt.NewHostModuleBuilder(HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostResult), []api.ValueType{i32, i32}, nil).
		WithParameterNames("ptr", "len").
		Export("result").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLog), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostHTTPRequest), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").
		Export("http_request").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostHTTPResponse), []api.ValueType{i32}, nil).
		WithParameterNames("ptr").
		Export("http_response").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostCallInput), []api.ValueType{i32}, nil).
		WithParameterNames("ptr").
		Export("call_input").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostProgress), []api.ValueType{f64, f64, i32, i32}, nil).
		WithParameterNames("progress", "total", "ptr", "len").
		Export("progress").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLogMessage), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log_message").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostElicit), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").
		Export("elicit").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostSample), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").
		Export("sample").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostListRoots), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").
		Export("list_roots").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostInputResponse), []api.ValueType{i32}, nil).
		WithParameterNames("ptr").
		Export("input_response").
		Instantiate(ctx)
	return err
}

// hostResult is kiln.result(ptr, len): the module's one result document.
func hostResult(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if s.resultSet {
		panic(&hostError{"kiln.result: called more than once"})
	}
	if uint64(n) > uint64(s.limits.OutputBytes) {
		panic(errOutputTooLarge)
	}
	// Copy: the instance and its memory are gone once the call returns.
	s.result = append([]byte(nil), readGuest(mod, "result", ptr, n)...)
	s.resultSet = true
}

// hostLog is kiln.log(level, ptr, len).
func hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	level, ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if level > 3 {
		panic(&hostError{fmt.Sprintf("kiln.log: level %d is not 0-3", level)})
	}
	s.logs.log(level, readGuest(mod, "log", ptr, n))
}

// copyCost is the fuel a host function charges for moving n bytes: one unit
// per call and one per 8 bytes, about what a guest copy loop would pay.
func copyCost(n uint32) int64 { return 1 + int64(n)/8 }
