package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

// Request is one tool call.
type Request struct {
	Tool string
	// Args is the arguments object as JSON; empty means {}.
	Args []byte
	// Env holds values for env vars the manifest declares. The module sees
	// these and nothing else of the host's environment.
	Env    map[string]string
	Limits Limits
	// Network, when set, lets the module make HTTP requests.
	Network *Network
}

// RequestError reports a request the module was never started for: an
// unknown tool, arguments that are not a JSON object, an undeclared env var
// or invalid limits.
type RequestError struct{ Reason string }

func (e *RequestError) Error() string { return "sandbox: " + e.Reason }

// Call runs one tool call in a fresh instance of the module: no memory,
// global or file state survives from one call to the next. The error is
// non-nil only for a bad request (a *RequestError), a node too busy to
// take the call within Config.QueueWait (a *BusyError, ErrBusy) or a host
// failure; how the module behaved is in Result.Outcome.
func (e *Engine) Call(ctx context.Context, m *Module, req Request) (Result, error) {
	args, err := checkRequest(m, req)
	if err != nil {
		return Result{}, err
	}
	client, err := newHTTPClient(req.Network, m.Manifest.Egress)
	if err != nil {
		return Result{}, err
	}
	state := &callState{limits: req.Limits, logs: logSink{budget: req.Limits.LogBytes}, http: client}
	cfg, stdout := moduleConfig(m, req.Tool, args, req.Env, state)
	x, err := e.run(ctx, m, cfg, state)
	if err != nil {
		return Result{}, err
	}

	res := Result{Duration: x.duration, PeakMemory: x.mem.peak}
	if state.meter != nil {
		res.FuelUsed = state.meter.used()
	}
	res.Logs, res.Console, res.LogsTruncated = state.logs.entries, validUTF8(state.logs.console.Bytes()), state.logs.truncated
	res.Outcome, res.Detail = classify(x, state)
	if res.Outcome == OutcomeToolError && !m.Manifest.Plain {
		// An ABI module reports tool errors in its result; a non-zero exit
		// is a crash, such as a Go panic.
		res.Outcome = OutcomeTrap
		if line := crashLine(res.Console); line != "" {
			res.Detail += ": " + line
		}
	}
	switch {
	case res.Outcome != OutcomeOK:
	case m.Manifest.Plain:
		res.Output = plainOutput(stdout.buf.Bytes())
	case !state.resultSet:
		res.Outcome, res.Detail = OutcomeTrap, "the module exited without calling kiln.result"
	default:
		if res.Output, err = parseResult(state.result); err != nil {
			res.Outcome, res.Detail = OutcomeTrap, err.Error()
		}
	}
	if m.Manifest.Plain && res.Outcome == OutcomeToolError {
		// A plain program that fails says why on stderr or stdout.
		msg := strings.TrimSpace(res.Console)
		if msg == "" {
			msg = strings.TrimSpace(validUTF8(stdout.buf.Bytes()))
		}
		res.Output = errorOutput("%s: %s", res.Detail, msg)
	}
	switch res.Outcome {
	case OutcomeOK, OutcomeToolError:
		if res.Output.IsError {
			res.Outcome = OutcomeToolError
		}
	case OutcomeTrap:
		res.Output = errorOutput("The tool crashed: %s.", res.Detail)
	default:
		res.Output = limitOutput(res.Outcome, req.Limits)
	}
	return res, nil
}

// checkRequest refuses requests the module is never started for, and
// returns the arguments to pass on stdin.
func checkRequest(m *Module, req Request) ([]byte, error) {
	if err := req.Limits.validate(); err != nil {
		return nil, &RequestError{Reason: strings.TrimPrefix(err.Error(), "sandbox: ")}
	}
	if _, ok := m.Manifest.Tool(req.Tool); !ok {
		return nil, &RequestError{Reason: fmt.Sprintf("the module has no tool %q", req.Tool)}
	}
	args := req.Args
	if len(bytes.TrimSpace(args)) == 0 {
		args = []byte("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(args, &obj); err != nil || obj == nil {
		return nil, &RequestError{Reason: "arguments must be a JSON object"}
	}
	for name := range req.Env {
		if _, ok := m.Manifest.EnvVar(name); !ok {
			return nil, &RequestError{Reason: fmt.Sprintf("env var %s is not declared by the module", name)}
		}
	}
	return args, nil
}

// classify maps how the instance stopped to an outcome. OutcomeOK here
// means "exited normally"; Call then looks at the result itself.
func classify(x execution, state *callState) (Outcome, string) {
	var exit *sys.ExitError
	var hostErr *hostError
	var initial *initialMemoryError
	err, mem, lim := x.err, x.mem, state.limits
	switch {
	case err == nil || errors.As(err, &exit) && exit.ExitCode() == 0:
		return OutcomeOK, ""
	case errors.As(err, &initial):
		return OutcomeMemoryLimit, initial.Error()
	case errors.Is(err, errDeadline):
		return OutcomeTimeout, fmt.Sprintf("the call ran longer than %v", lim.Timeout)
	case errors.Is(err, errCanceled):
		return OutcomeCanceled, "the caller canceled the call"
	case errors.Is(err, errOutputTooLarge):
		return OutcomeOutputTooLarge, fmt.Sprintf("the output passed the %d byte limit", lim.OutputBytes)
	case errors.Is(err, errFuelExhausted):
		return OutcomeFuelExhausted, fmt.Sprintf("the call used all of its %d units of fuel", lim.Fuel)
	case mem.refused:
		// Whatever the module did after a refused grow (exit, trap), the
		// memory limit is why it stopped.
		return OutcomeMemoryLimit, fmt.Sprintf("the module tried to grow its memory past %d bytes", mem.limit)
	case errors.As(err, &exit):
		return OutcomeToolError, fmt.Sprintf("the module exited with status %d", exit.ExitCode())
	case errors.As(err, &hostErr):
		return OutcomeTrap, hostErr.msg
	}
	// A Wasm trap: keep the first line, without the stack trace.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return OutcomeTrap, msg
}

// limitOutput is the result an agent sees when a call did not finish.
func limitOutput(o Outcome, lim Limits) ToolResult {
	switch o {
	case OutcomeTimeout:
		return errorOutput("The tool did not finish within its time limit of %v.", lim.Timeout)
	case OutcomeFuelExhausted:
		return errorOutput("The tool used up its compute budget of %d units of fuel.", lim.Fuel)
	case OutcomeMemoryLimit:
		return errorOutput("The tool needed more than its memory limit of %d MiB.", lim.Memory>>20)
	case OutcomeOutputTooLarge:
		return errorOutput("The tool's output exceeded the limit of %d bytes.", lim.OutputBytes)
	case OutcomeCanceled:
		return errorOutput("The call was canceled.")
	case OutcomeBadModule:
		return errorOutput("The tool's module cannot run on this host.")
	}
	return errorOutput("The tool crashed.")
}

// crashLine finds the line in which a runtime explains a crash, such as Go's
// "panic: ..." or "fatal error: ...".
func crashLine(console string) string {
	for _, line := range strings.Split(console, "\n") {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return line
		}
	}
	return ""
}

// plainOutput turns a plain module's stdout into a result: a JSON object
// becomes structuredContent as well as text.
func plainOutput(stdout []byte) ToolResult {
	out := ToolResult{Content: []Content{{Type: "text", Text: validUTF8(stdout)}}}
	trimmed := bytes.TrimSpace(stdout)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		out.StructuredContent = json.RawMessage(trimmed)
	}
	return out
}

var contentTypes = map[string]bool{"text": true, "image": true, "audio": true, "resource_link": true, "resource": true}

// parseResult decodes and checks an ABI module's result document.
func parseResult(data []byte) (ToolResult, error) {
	var r ToolResult
	if err := json.Unmarshal(data, &r); err != nil {
		return ToolResult{}, fmt.Errorf("the module returned an invalid result document: %v", err)
	}
	for i, c := range r.Content {
		if !contentTypes[c.Type] {
			return ToolResult{}, fmt.Errorf("the module's result content[%d] has unknown type %q", i, c.Type)
		}
	}
	if s := bytes.TrimSpace(r.StructuredContent); len(s) > 0 && (s[0] != '{' || string(s) == "null") {
		if string(s) == "null" {
			r.StructuredContent = nil
		} else {
			return ToolResult{}, errors.New("the module's structuredContent is not a JSON object")
		}
	}
	if r.Content == nil {
		r.Content = []Content{}
	}
	return r, nil
}
