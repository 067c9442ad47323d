// Command conformance is the Go half of the fixture tools the MCP
// conformance suite (npm @modelcontextprotocol/conformance, "server"
// scenarios) calls by name. It is built with the Go toolkit like any
// customer tool. Tools whose results the toolkit cannot express yet
// (embedded resources, hand-written 2020-12 schemas) are in
// ../wat/conformance.wat.
package main

import (
	"context"
	"errors"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// A 1x1 PNG and a WAV header with no samples: small, valid media.
const (
	pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	wavBase64 = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA="
)

type none struct{}

func simpleText(context.Context, none) (kiln.Result, error) {
	return kiln.TextResult("This is a simple text response for testing."), nil
}

func image(context.Context, none) (kiln.Result, error) {
	return kiln.Result{Content: []kiln.Content{{Type: "image", Data: pngBase64, MIMEType: "image/png"}}}, nil
}

func audio(context.Context, none) (kiln.Result, error) {
	return kiln.Result{Content: []kiln.Content{{Type: "audio", Data: wavBase64, MIMEType: "audio/wav"}}}, nil
}

func failing(context.Context, none) (kiln.Result, error) {
	return kiln.Result{}, errors.New("This tool intentionally returns an error for testing")
}

func logging(context.Context, none) (kiln.Result, error) {
	kiln.Log(kiln.LevelInfo, "Tool execution started")
	kiln.Log(kiln.LevelInfo, "Tool processing data")
	kiln.Log(kiln.LevelInfo, "Tool execution completed")
	return kiln.TextResult("Tool with logging executed successfully"), nil
}

// progress has no way to report progress: ABI v1 gives a module no host
// function for it. It answers, and the conformance baseline says why the
// scenario fails.
func progress(context.Context, none) (kiln.Result, error) {
	return kiln.TextResult("Progress notifications are not available to Wasm tools"), nil
}

// loggingTool logs without the client asking for logs: under protocol
// 2026-07-28 the host must drop the line (SEP-2575).
func loggingTool(context.Context, none) (kiln.Result, error) {
	kiln.Log(kiln.LevelInfo, "a log line nobody asked for")
	return kiln.TextResult("logged one line"), nil
}

// streaming answers on the response stream; the scenario checks that the
// stream carries no server-to-client requests, which Kiln never sends.
func streaming(context.Context, none) (kiln.Result, error) {
	return kiln.TextResult("no elicitation: Kiln tools cannot ask the client for input"), nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("test_simple_text", "Tests simple text content response", simpleText),
		kiln.NewTool("test_image_content", "Tests image content response", image),
		kiln.NewTool("test_audio_content", "Tests audio content response", audio),
		kiln.NewTool("test_error_handling", "Tests error response handling", failing),
		kiln.NewTool("test_tool_with_logging", "Tests tool that emits log messages during execution", logging),
		kiln.NewTool("test_tool_with_progress", "Tests tool that reports progress notifications", progress),
		kiln.NewTool("test_logging_tool", "Emits a log line the client did not ask for (SEP-2575)", loggingTool),
		kiln.NewTool("test_streaming_elicitation", "Answers on the response stream (SEP-2575)", streaming),
	}})
}
