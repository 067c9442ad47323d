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
	// unknown imports, no _start, a memory it cannot have).
	OutcomeBadModule
	// OutcomeCanceled: the caller canceled the call (for example, the MCP
	// client went away).
	OutcomeCanceled
	// OutcomeFuelExhausted: the call used all of Limits.Fuel.
	OutcomeFuelExhausted
)

var outcomeNames = [...]string{"ok", "tool_error", "timeout", "memory_limit", "trap", "output_too_large", "bad_module", "canceled", "fuel_exhausted"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText makes outcomes readable in JSON and logs.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Result is everything one call produced.
type Result struct {
	Outcome Outcome `json:"outcome"`
	// Output is the tool's result. For outcomes other than OK and ToolError
	// it is an isError result explaining what stopped the call, fit to show
	// an agent.
	Output ToolResult `json:"output"`
	// Detail is the host's technical account of a call that did not finish
	// normally (a trap message, an exit status), for logs and operators.
	Detail string `json:"detail,omitempty"`
	// Duration is the wall-clock time from instantiation to exit.
	Duration time.Duration `json:"durationNs"`
	// PeakMemory is the largest size the linear memory reached, in bytes.
	PeakMemory uint64 `json:"peakMemory"`
	// FuelUsed is the fuel the call consumed (see sandbox/fuel for the unit).
	FuelUsed uint64 `json:"fuelUsed"`
	// Logs are the lines sent through the log host function.
	Logs []LogEntry `json:"logs,omitempty"`
	// Console is what the module wrote to stderr (and, for ABI modules, to
	// stdout), capped by Limits.LogBytes together with Logs.
	Console       string `json:"console,omitempty"`
	LogsTruncated bool   `json:"logsTruncated,omitempty"`
}

// ToolResult is an MCP CallToolResult.
type ToolResult struct {
	Content           []Content       `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	IsError           bool            `json:"isError,omitempty"`
}

// Content is one MCP content item.
type Content struct {
	Type     string          `json:"type"`
	Text     string          `json:"text,omitempty"`
	Data     string          `json:"data,omitempty"`
	MIMEType string          `json:"mimeType,omitempty"`
	URI      string          `json:"uri,omitempty"`
	Name     string          `json:"name,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
}

// LogEntry is one line from the log host function.
type LogEntry struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

func errorOutput(format string, args ...any) ToolResult {
	return ToolResult{IsError: true, Content: []Content{{Type: "text", Text: fmt.Sprintf(format, args...)}}}
}
