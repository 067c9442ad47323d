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

// logging sends its log messages while it runs (ABI v2); the client sees
// each as notifications/message before the result. (Sleeps in a Wasm tool
// return at once, so the scenario's delays are left out.)
func logging(ctx context.Context, _ none) (kiln.Result, error) {
	kiln.Log(ctx, kiln.LevelInfo, "Tool execution started")
	kiln.Log(ctx, kiln.LevelInfo, "Tool processing data")
	kiln.Log(ctx, kiln.LevelInfo, "Tool execution completed")
	return kiln.TextResult("Tool with logging executed successfully"), nil
}

// progress reports 0, 50 and 100 of 100, which the host sends as
// notifications/progress when the call carries a progressToken.
func progress(ctx context.Context, _ none) (kiln.Result, error) {
	for _, p := range []float64{0, 50, 100} {
		kiln.Progress(ctx, p, 100, "")
	}
	return kiln.TextResult("Progress reported: 0, 50 and 100 of 100"), nil
}

// loggingTool logs without the client asking for logs: under protocol
// 2026-07-28 the host must drop the line (SEP-2575).
func loggingTool(ctx context.Context, _ none) (kiln.Result, error) {
	kiln.Log(ctx, kiln.LevelInfo, "a log line nobody asked for")
	return kiln.TextResult("logged one line"), nil
}

// streaming answers on the response stream; the scenario checks that the
// stream carries no server-to-client requests, which Kiln never sends.
func streaming(context.Context, none) (kiln.Result, error) {
	return kiln.TextResult("no elicitation: Kiln tools cannot ask the client for input"), nil
}

func main() {
	kiln.Run(kiln.Module{Tools: append([]kiln.Tool{
		kiln.NewTool("test_simple_text", "Tests simple text content response", simpleText).
			WithAnnotations(kiln.Annotations{ReadOnlyHint: true, OpenWorldHint: kiln.Bool(false)}),
		kiln.NewTool("test_image_content", "Tests image content response", image),
		kiln.NewTool("test_audio_content", "Tests audio content response", audio),
		kiln.NewTool("test_error_handling", "Tests error response handling", failing),
		kiln.NewTool("test_tool_with_logging", "Tests tool that emits log messages during execution", logging),
		kiln.NewTool("test_tool_with_progress", "Tests tool that reports progress notifications", progress),
		kiln.NewTool("test_logging_tool", "Emits a log line the client did not ask for (SEP-2575)", loggingTool),
		kiln.NewTool("test_streaming_elicitation", "Answers on the response stream (SEP-2575)", streaming),
	}, inputTools()...),
		Prompts:           conformancePrompts(),   // catalog.go
		Resources:         conformanceResources(), // catalog.go
		ResourceTemplates: conformanceTemplates(), // catalog.go
	})
}
