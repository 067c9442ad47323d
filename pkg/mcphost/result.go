package mcphost

import (
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
)

// toolError is an isError result: the agent reads the sentence and can
// correct itself, where a JSON-RPC error would only tell it the call failed.
func toolError(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

// toMCPResult words a sandbox result for an agent. The module's answer
// (ok, tool_error) is its result document, which is MCP's CallToolResult
// wire form: the SDK's decoder reads it, checking each content item (a
// document of text items only, as the SDK would, without it: sdkjson.go). A
// call the sandbox stopped becomes a tool error saying which limit of the
// plan it met and what the agent can do about it.
func toMCPResult(res sandbox.Result, t *tool, plan tier.Plan) (*mcp.CallToolResult, error) {
	if msg := outcomeMessage(res, t.name, plan); msg != "" {
		return toolError(msg), nil
	}
	out, err := decodeResult(res.Answer) // sdkjson.go
	if err != nil {
		return nil, err
	}
	// Keep the module's bytes: decoding into any would turn integers above
	// 2^53 into floats.
	out.StructuredContent = nil
	if res.Answer.Structured != nil {
		out.StructuredContent = res.Answer.Structured
	}
	if out.Content == nil {
		out.Content = []mcp.Content{}
	}
	return out, nil
}

// outcomeMessage is the sentence for a call that did not end with the
// module's own result; "" for ok and tool_error.
func outcomeMessage(res sandbox.Result, name string, plan tier.Plan) string {
	switch res.Outcome {
	case sandbox.OutcomeOK, sandbox.OutcomeToolError:
		return ""
	case sandbox.OutcomeFuelExhausted:
		return fmt.Sprintf("The tool %q used up its compute budget (%d fuel units per call on the %s plan) before it finished. "+
			"Try again with a smaller input or a simpler request; if every call stops like this, the tool may be looping.", name, plan.Fuel, plan.Name)
	case sandbox.OutcomeTimeout:
		return fmt.Sprintf("The tool %q did not finish within %v, the time limit per call on the %s plan. "+
			"Try again with a smaller input; if it keeps happening, the tool may be stuck or waiting on a slow service.", name, plan.Timeout, plan.Name)
	case sandbox.OutcomeMemoryLimit:
		return fmt.Sprintf("The tool %q needed more than %s of memory, the limit per call on the %s plan. "+
			"Try again with a smaller input.", name, formatBytes(plan.MemoryBytes), plan.Name)
	case sandbox.OutcomeOutputTooLarge:
		return fmt.Sprintf("The tool %q produced a result larger than %s, the limit per call on the %s plan. "+
			"Ask for less data at once, for example a smaller page or range.", name, formatBytes(plan.OutputBytes), plan.Name)
	case sandbox.OutcomeTrap:
		return fmt.Sprintf("The tool %q crashed (%s). This is a fault in the tool, not in the request; retrying with the same input will fail the same way.", name, res.Detail)
	case sandbox.OutcomeCanceled:
		return fmt.Sprintf("The call to %q was canceled before it finished.", name)
	case sandbox.OutcomeBadModule:
		return fmt.Sprintf("The tool %q cannot run on this host: its module does not meet Kiln's module ABI (%s). The server's owner needs to rebuild it.", name, res.Detail)
	}
	return fmt.Sprintf("The tool %q stopped unexpectedly (%s).", name, res.Outcome)
}

// checkOutput enforces the tool's output schema: MCP says structured
// content must conform, and clients that validate it reject the whole
// response otherwise. A mismatch becomes a tool error the agent can read.
func checkOutput(t *tool, out *mcp.CallToolResult) string {
	if t.output == nil || out.IsError {
		return ""
	}
	raw, _ := out.StructuredContent.(json.RawMessage)
	if len(raw) == 0 {
		return fmt.Sprintf("The tool %q declares an output schema but returned no structured content; this is a fault in the tool.", t.name)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Sprintf("The tool %q returned structured content that is not JSON; this is a fault in the tool.", t.name)
	}
	if err := t.output.Validate(v); err != nil {
		return fmt.Sprintf("The tool %q returned structured content that does not match its output schema (%v); this is a fault in the tool.", t.name, err)
	}
	return ""
}

// argumentsMessage is the sentence for arguments the sandbox refused: it
// names what is wrong (the field, from the schema check), so the agent can
// call again with better ones.
func argumentsMessage(name string, re *sandbox.RequestError) string {
	return fmt.Sprintf("Invalid arguments for tool %q: %s. Call it again with arguments that match its input schema.", name, re.Reason)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
