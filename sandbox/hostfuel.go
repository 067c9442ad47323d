package sandbox

import (
	"context"
	"crypto/rand"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Host function prices, in fuel (about one unit per guest instruction).
const (
	// hostCallCost is what any host function call costs: leaving compiled
	// code for Go and back is the time of a few dozen instructions.
	hostCallCost = 20
	// randomByteCost: crypto/rand made 140 MB/s on the project's machines
	// (getrandom), 7 ns a byte, the time of several instructions.
	randomByteCost = 8
	// vectorEntryCost is paid per iovec or poll subscription, each read
	// and decoded from guest memory.
	vectorEntryCost = 4
)

// hostPricing charges every function of the host modules it is installed
// on (WASI and kiln, see NewEngine) before the function runs, through a
// wazero function listener: wazero's WASI functions are not ours to edit,
// and a listener is the hook wazero calls around each of them. It runs
// only when a host function is called, so guest code pays nothing for it.
type hostPricing struct{}

// NewFunctionListener implements experimental.FunctionListenerFactory.
func (hostPricing) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	stateful := def.ModuleName() == wasi_snapshot_preview1.ModuleName && !wasiStateless[def.Name()]
	return priced{price: hostPrice(def.ModuleName(), def.Name()), stateful: stateful}
}

// wasiStateless are the WASI functions that change nothing outside the
// module's memory on this host (no files are preopened; stdout and stderr
// go to the call's logs; a reactor's stdin is empty). A call that uses any
// other (fd_close, fd_renumber, path_open...) may have changed the
// instance's descriptor table, which a snapshot does not hold, so its
// instance is discarded rather than restored. proc_exit closes the
// instance anyway. fd_fdstat_set_flags (Go's runtime makes stdio
// non-blocking at start-up) changes only files that can be polled, and
// this host gives a module none: its stdio are Go readers and writers.
var wasiStateless = map[string]bool{
	"args_get": true, "args_sizes_get": true, "environ_get": true, "environ_sizes_get": true,
	"clock_res_get": true, "clock_time_get": true, "fd_write": true, "fd_read": true,
	"fd_fdstat_get": true, "fd_fdstat_set_flags": true, "fd_filestat_get": true, "fd_prestat_get": true, "fd_prestat_dir_name": true,
	"poll_oneoff": true, "random_get": true, "sched_yield": true, "proc_exit": true,
}

// hostPrice returns what a host function costs beyond hostCallCost, for
// the functions whose work grows with an argument or with the call's data.
// Bytes written to stdout and stderr are charged by meteredWriter as they
// are written; what stdin can return is the call's own arguments.
func hostPrice(module, name string) func(s *callState, params []uint64) int64 {
	arg := func(i int, unit int64) func(*callState, []uint64) int64 {
		return func(_ *callState, p []uint64) int64 { return int64(api.DecodeU32(p[i])) * unit }
	}
	if module == wasi_snapshot_preview1.ModuleName {
		switch name {
		case "random_get": // (buf, len)
			return arg(1, randomByteCost)
		case "fd_write", "fd_read", "fd_pwrite", "fd_pread": // (fd, iovs, iovs_len, ...)
			return arg(2, vectorEntryCost)
		case "poll_oneoff": // (in, out, nsubscriptions, nevents)
			return arg(2, vectorEntryCost)
		case "args_get", "environ_get":
			return func(s *callState, _ []uint64) int64 { return copyCost(s.sysBytes) }
		}
		return func(*callState, []uint64) int64 { return 0 }
	}
	copied := func(i int, limit func(*callState) uint32) func(*callState, []uint64) int64 {
		return func(s *callState, p []uint64) int64 { return copyCost(min(api.DecodeU32(p[i]), limit(s))) }
	}
	switch name {
	case "result": // (ptr, len): more than the output limit is refused unread
		return copied(1, func(s *callState) uint32 { return uint32(min(s.limits.OutputBytes, 1<<31)) })
	case "log": // (level, ptr, len): a line is cut at maxLogLine
		return copied(2, func(*callState) uint32 { return maxLogLine })
	case "http_request": // (ptr, len)
		return copied(1, func(*callState) uint32 { return maxHTTPRequestDoc })
	case "http_response": // (ptr): copies the pending response
		return func(s *callState, _ []uint64) int64 { return copyCost(uint32(min(len(s.pendingHTTP), 1<<31))) }
	case "progress": // (progress, total, ptr, len): a message is cut at maxProgressMessage
		return func(s *callState, p []uint64) int64 {
			return notifyCost + copyCost(min(api.DecodeU32(p[3]), maxProgressMessage))
		}
	case "log_message": // (level, ptr, len): a larger message is dropped unread
		return func(s *callState, p []uint64) int64 {
			if n := api.DecodeU32(p[2]); n <= maxLogMessage {
				return notifyCost + copyCost(n)
			}
			return notifyCost
		}
	case "elicit", "sample", "list_roots": // (ptr, len): a larger request is refused unread
		return func(s *callState, p []uint64) int64 {
			return notifyCost + copyCost(min(api.DecodeU32(p[1]), MaxInputRequest))
		}
	case "input_response": // (ptr): copies the pending answer
		return func(s *callState, _ []uint64) int64 { return copyCost(uint32(min(len(s.questions.pending), 1<<31))) }
	case "call_input": // (ptr): copies the call document
		return func(s *callState, _ []uint64) int64 { return copyCost(uint32(min(len(s.input), 1<<31))) }
	}
	return func(*callState, []uint64) int64 { return 0 }
}

// priced is the listener of one host function.
type priced struct {
	price    func(s *callState, params []uint64) int64
	stateful bool // see wasiStateless
}

// Before charges the call's meter, which ends the call there when its fuel,
// time or caller is gone.
func (p priced) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	s := stateFrom(ctx)
	if p.stateful {
		s.wasiTouched = true
	}
	s.meter.charge(hostCallCost + p.price(s, params))
}

// After implements experimental.FunctionListener.
func (priced) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

// Abort implements experimental.FunctionListener.
func (priced) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

// randChunk is how many random bytes are made between two deadline checks.
const randChunk = 64 << 10

// randSource is random_get's source: crypto/rand, in chunks between which
// the meter checks the deadline, so that even one huge request (paid for
// up front) cannot hold the call past it.
type randSource struct{ state *callState }

func (r randSource) Read(p []byte) (int, error) {
	r.state.meter.charge(0)
	if r.state.tape != nil {
		return r.state.tape.random(p) // record.go
	}
	return rand.Read(p[:min(len(p), randChunk)])
}
