package sandbox

import (
	"encoding/json"
	"fmt"
	"time"
)

// Outcome is how a call ended.
type Outcome int

const (
	// OutcomeOK: the tool returned a result.
	OutcomeOK Outcome = iota
	// OutcomeToolError: the tool returned a result with isError set (or a
	// plain module exited with a non-zero status).
	OutcomeToolError
	// OutcomeTimeout: the call ran past Limits.Timeout.
	OutcomeTimeout
	// OutcomeMemoryLimit: the module needed more than Limits.Memory.
	OutcomeMemoryLimit
	// OutcomeTrap: the module crashed (a Wasm trap such as unreachable or a
	// stack overflow, a Go panic, or an exit without a result).
	OutcomeTrap
	// OutcomeOutputTooLarge: the result (or plain stdout) passed Limits.OutputBytes.
	OutcomeOutputTooLarge
	// OutcomeBadModule: the module cannot run under the ABI (missing or
	// unknown imports, no _start, a memory it cannot have, an input schema
	// that does not resolve).
	OutcomeBadModule
	// OutcomeCanceled: the caller canceled the call (for example, the MCP
	// client went away).
	OutcomeCanceled
	// OutcomeFuelExhausted: the call used all of Limits.Fuel.
	OutcomeFuelExhausted
	// OutcomeInputRequired: the module asked its caller for input (ABI
	// v2: elicit, sample, list_roots) that Request.Inputs did not answer;
	// Result.Input holds the question. Neither a failure nor a limit: the
	// front end asks the caller and runs the call again with the answer.
	OutcomeInputRequired
)

var outcomeNames = [...]string{"ok", "tool_error", "timeout", "memory_limit", "trap", "output_too_large", "bad_module", "canceled", "fuel_exhausted", "input_required"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText makes outcomes readable in JSON and logs.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Stopped reports whether the sandbox, not the module, ended the call: the
// module gave no answer of its own.
func (o Outcome) Stopped() bool { return o != OutcomeOK && o != OutcomeToolError }

// Result is what one call did, in the sandbox's own terms: how it ended,
// the module's answer, and what it used. It holds no wording for anyone,
// because each front end has its own audience: mcphost words a result for
// an agent (an MCP result naming the plan's limits), `kiln run` for a
// terminal (naming its flags), the wizard for a person and its LLM.
type Result struct {
	Outcome Outcome
	// Answer is the module's answer; set for OutcomeOK and OutcomeToolError
	// only (see Outcome.Stopped).
	Answer Answer
	// Detail is the host's technical account of a call that did not finish
	// normally (a trap message, an exit status, the limit it met), for logs
	// and operators.
	Detail string
	Usage
	// Logs are the lines sent through the log host function.
	Logs []LogEntry
	// Console is what the module wrote to stderr (and, for ABI modules, to
	// stdout), capped by Limits.LogBytes together with Logs.
	Console       string
	LogsTruncated bool
	// Notifications counts the progress reports and log messages the
	// module sent its caller (ABI v2), and those a limit dropped.
	Notifications NotifyStats
	// Input is the questions the call stopped with (OutcomeInputRequired),
	// in the order asked: the deferred ones left unanswered, then the one
	// that stopped it, if any (ABI section 5.7).
	Input []InputRequest
}

// Usage is what a call used of its limits.
type Usage struct {
	// Duration is the wall-clock time from instantiation to exit.
	Duration time.Duration
	// PeakMemory is the largest size the linear memory reached, in bytes.
	PeakMemory uint64
	// FuelUsed is the fuel the call consumed (see sandbox/fuel for the unit).
	FuelUsed uint64
}

// Answer is the module's result document (toolkits/ABI.md, section 3),
// checked against the ABI: a JSON object whose content items have known
// types and whose structuredContent, if any, is an object. A plain
// program's answer is the document section 6 makes of its stdout and exit
// status.
type Answer struct {
	// Document is the result document: the bytes the module handed to
	// kiln.result, or the one made for a plain program.
	Document json.RawMessage
	// IsError is the document's isError: the tool reports that the call
	// failed (a tool error, which the caller can act on).
	IsError bool
	// Structured is the document's structuredContent as the module wrote it
	// (integers above 2^53 intact); nil when absent or null.
	Structured json.RawMessage
	// Text is the document's text items, joined by newlines.
	Text string
	// TextItems are the document's content items when the document has the
	// shape the Go toolkit writes: one or more text items with no other
	// field, then structuredContent and isError, nothing else (fastAnswer).
	// A front end can build its answer from them and Structured without
	// reading Document again. nil for any other document.
	TextItems []string
}

// LogEntry is one line from the log host function, or one message from
// kiln.log_message (ABI v2), whose data it holds as text.
type LogEntry struct {
	// Level is "debug", "info", "warn" or "error" for a log line, an MCP
	// level ("debug" ... "emergency") for a log message.
	Level   string `json:"level"`
	Logger  string `json:"logger,omitempty"`
	Message string `json:"message"`
	// Live marks a log message (ABI v2): it was offered to the call's
	// Notifier while the call ran, so front ends do not pass it on again
	// after the call. Sent says whether the notification limits let it go.
	Live bool `json:"-"`
	Sent bool `json:"-"`
}
