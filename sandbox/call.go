package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/sys"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

// Request is one tool call.
type Request struct {
	Tool string
	// Args is the arguments object as JSON; empty means {}. It must match
	// the tool's input schema.
	Args []byte
	// Env holds values for env vars the manifest declares. The module sees
	// these and nothing else of the host's environment.
	Env    map[string]string
	Limits Limits
	// Network, when set, lets the module make HTTP requests.
	Network *Network
	// Notify, when set, receives the module's progress reports and log
	// messages (ABI v2) during the call, within Limits.Notify.
	Notify Notifier
	// Record, when set (NewRecording), receives what the guest reads from
	// the host during the call, and how the call ended (record.go).
	Record *Recording
	// replay is set by Engine.Replay.
	replay *replayPlan
	// Inputs, when set, answers the module's requests for input (ABI v2:
	// elicit, sample, list_roots); a request it does not answer, or every
	// request without it, stops the call (OutcomeInputRequired).
	Inputs Inputs
}

// RequestError reports a request the module was never started for: an
// unknown tool, arguments that are not a JSON object or do not match the
// tool's input schema, an undeclared env var or invalid limits.
type RequestError struct {
	Reason string
	// Arguments is set when the arguments are what is wrong: the caller's
	// client (an agent, a person) can correct them, where the rest is a
	// fault of whoever assembled the request.
	Arguments bool
}

func (e *RequestError) Error() string { return "sandbox: " + e.Reason }

// Call runs one tool call in a fresh instance of the module: no memory,
// global or file state survives from one call to the next. The error is
// non-nil only for a bad request (a *RequestError), a node too busy to
// take the call within Config.QueueWait (a *BusyError, ErrBusy) or a host
// failure; how the module behaved is in Result.Outcome.
func (e *Engine) Call(ctx context.Context, m *Module, req Request) (Result, error) {
	ctx, span := startCallSpan(ctx, m, req.Tool)
	res, err := e.call(ctx, m, req)
	endCallSpan(span, res, err)
	return res, err
}

func (e *Engine) call(ctx context.Context, m *Module, req Request) (Result, error) {
	args, err := checkRequest(m, req)
	var bad *schemaError
	if errors.As(err, &bad) {
		return Result{Outcome: OutcomeBadModule, Detail: bad.Error()}, nil
	}
	if err != nil {
		return Result{}, err
	}
	client, err := newHTTPClient(req.Network, m.Manifest.Egress)
	if err != nil {
		return Result{}, err
	}
	state := &callState{limits: req.Limits, logs: logSink{budget: req.Limits.LogBytes}, http: client, epoch: e.epoch,
		notify: notifySink{to: req.Notify, limits: req.Limits.Notify}, questions: inputState{answers: req.Inputs}}
	req.attachTape(state) // record.go
	cfg, stdout := moduleConfig(m, req.Tool, args, req.Env, state)
	x, err := e.run(ctx, m, cfg, state)
	if err != nil {
		return Result{}, err
	}
	res := Result{Usage: Usage{Duration: x.duration, PeakMemory: x.mem.peak}}
	if state.meter != nil {
		res.FuelUsed = state.meter.used()
	}
	res.Logs, res.Console, res.LogsTruncated = state.logs.entries, validUTF8(state.logs.console.Bytes()), state.logs.truncated
	res.Notifications = state.notify.stats
	res.Outcome, res.Detail = classify(x, state)
	if res.Outcome == OutcomeInputRequired {
		res.Input = state.questions.asked
	}
	if m.Manifest.Plain {
		res.answerPlain(stdout.buf.Bytes())
	} else {
		res.answerABI(state, req.Tool)
	}
	req.Record.finish(res)
	return res, nil
}

// answerABI reads an ABI module's answer: its result document. A non-zero
// exit is a crash, such as a Go panic: an ABI module reports tool errors
// in its result.
func (res *Result) answerABI(state *callState, tool string) {
	parse := parseAnswer
	if tool == manifest.PromptEntry || tool == manifest.ResourceEntry {
		parse = func(data []byte) (Answer, error) { return parseEntryAnswer(tool, data) }
	}
	var err error
	switch {
	case res.Outcome == OutcomeToolError:
		res.Outcome = OutcomeTrap
		if line := crashLine(res.Console); line != "" {
			res.Detail += ": " + line
		}
	case res.Outcome != OutcomeOK:
	case !state.resultSet:
		res.Outcome, res.Detail = OutcomeTrap, "the module exited without calling kiln.result"
	default:
		if res.Answer, err = parse(state.result); err != nil {
			res.Outcome, res.Detail = OutcomeTrap, err.Error()
		} else if res.Answer.IsError {
			res.Outcome = OutcomeToolError
		}
	}
}

// answerPlain reads a plain program's answer: its stdout, or after a
// non-zero exit what it said on stderr (or stdout).
func (res *Result) answerPlain(stdout []byte) {
	if res.Outcome.Stopped() {
		return
	}
	failed := res.Outcome == OutcomeToolError
	msg := strings.TrimSpace(res.Console)
	if msg == "" {
		msg = strings.TrimSpace(validUTF8(stdout))
	}
	var err error
	if res.Answer, err = plainAnswer(stdout, failed, msg); err != nil {
		res.Outcome, res.Detail = OutcomeTrap, err.Error()
	}
}

// checkRequest refuses requests the module is never started for, and
// returns the arguments to pass on stdin.
func checkRequest(m *Module, req Request) ([]byte, error) {
	if err := req.Limits.validate(); err != nil {
		return nil, &RequestError{Reason: strings.TrimPrefix(err.Error(), "sandbox: ")}
	}
	if entry, err := entryRequest(m, req); entry {
		if err != nil {
			return nil, err
		}
		return req.Args, checkEnv(m, req)
	}
	tool, ok := m.Manifest.Tool(req.Tool)
	if !ok {
		return nil, &RequestError{Reason: fmt.Sprintf("the module has no tool %q", req.Tool)}
	}
	if err := checkEnv(m, req); err != nil {
		return nil, err
	}
	return m.checkArguments(req.Tool, tool.InputSchema, req.Args)
}

// checkEnv refuses env vars the module does not declare.
func checkEnv(m *Module, req Request) error {
	for name := range req.Env {
		if _, ok := m.Manifest.EnvVar(name); !ok {
			return &RequestError{Reason: fmt.Sprintf("env var %s is not declared by the module", name)}
		}
	}
	return nil
}

// inputDetail names the questions a call stopped with.
func inputDetail(qs []InputRequest) string {
	kinds := make([]string, len(qs))
	for i, q := range qs {
		kinds[i] = fmt.Sprintf("%s #%d", q.Kind, q.Index+1)
	}
	return "the module asked for input (" + strings.Join(kinds, ", ") + ")"
}

// classify maps how the instance stopped to an outcome. OutcomeOK here
// means "exited normally"; Call then looks at the result itself.
func classify(x execution, state *callState) (Outcome, string) {
	var exit *sys.ExitError
	var hostErr *hostError
	var initial *initialMemoryError
	err, mem, lim := x.err, x.mem, state.limits
	switch {
	case (errors.Is(err, errInputRequired) || err == nil || errors.As(err, &exit) && exit.ExitCode() == 0) && len(state.questions.asked) > 0:
		// Stopped at a question, or ended with deferred ones unanswered.
		return OutcomeInputRequired, inputDetail(state.questions.asked)
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
