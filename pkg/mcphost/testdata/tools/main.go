// Command tools is the fixture module of mcphost's tests: a well-behaved
// tool with structured output, tools that run into each limit of a plan,
// a crashing one, one that reports which env vars it can see, and the ABI
// v2 ones: a tool that reports progress and logs, one that reports progress
// for ever (to be canceled) and one that floods its client.
package main

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type echoIn struct {
	Text string `json:"text" description:"Text to echo"`
}

type echoOut struct {
	Text   string `json:"text"`
	Length int    `json:"length" description:"Length in characters"`
}

func echo(_ context.Context, in echoIn) (echoOut, error) {
	return echoOut{Text: in.Text, Length: utf8.RuneCountInString(in.Text)}, nil
}

type none struct{}

// sink keeps the spin loop's work observable, so the compiler keeps it.
var sink int

// spin never finishes: fuel or the deadline must stop it.
func spin(context.Context, none) (string, error) {
	for i := 0; ; i++ {
		sink += i ^ (sink >> 3)
	}
}

// grow allocates until the memory limit refuses it.
func grow(context.Context, none) (string, error) {
	var keep [][]byte
	for {
		keep = append(keep, make([]byte, 1<<20))
		sink += len(keep)
	}
}

func crash(context.Context, none) (string, error) {
	panic("the fixture crashed on purpose")
}

// env reports the env vars it can see. API_KEY is a secret: the host must
// never put its value in the module's environment.
func env(context.Context, none) (string, error) {
	var parts []string
	for _, name := range []string{"GREETING", "TOKEN", "API_KEY"} {
		parts = append(parts, fmt.Sprintf("%s=%s", name, kiln.Env(name)))
	}
	return strings.Join(parts, " "), nil
}

type reportIn struct {
	Steps int `json:"steps" description:"How many steps to report"`
}

type reportOut struct {
	Steps int `json:"steps"`
}

// report reports each step as progress and logs it: at info (which the
// client gets), at debug (which a stateless server's default level, info,
// holds back) and, under its own logger, at warning.
func report(ctx context.Context, in reportIn) (reportOut, error) {
	audit := kiln.Logger{Name: "audit"}
	for i := 1; i <= in.Steps; i++ {
		kiln.Progress(ctx, float64(i), float64(in.Steps), fmt.Sprintf("step %d of %d", i, in.Steps))
		kiln.Log(ctx, kiln.LevelInfo, "step done", "step", i)
		kiln.Log(ctx, kiln.LevelDebug, "a detail nobody asked for")
	}
	audit.Log(ctx, kiln.LevelWarning, "report finished")
	return reportOut{Steps: in.Steps}, nil
}

// count reports progress for ever, every 65,536 rounds: a client cancels it.
func count(ctx context.Context, _ none) (string, error) {
	for i := 1; ; i++ {
		sink += i ^ (sink >> 3)
		if i%(1<<16) == 0 {
			kiln.Progress(ctx, float64(i>>16), 0, "still counting")
		}
	}
}

// flood sends five hundred progress reports and log messages at once.
func flood(ctx context.Context, _ none) (string, error) {
	for i := 1; i <= 500; i++ {
		kiln.Progress(ctx, float64(i), 500, "")
		kiln.Log(ctx, kiln.LevelInfo, "flood")
	}
	return "flooded", nil
}

func main() {
	kiln.Run(kiln.Module{
		Env: []kiln.EnvVar{
			{Name: "GREETING", Description: "Stored on the server"},
			{Name: "TOKEN", Description: "Sent by the client per request", PerRequest: true},
			{Name: "API_KEY", Description: "A secret", Secret: true},
		},
		Tools: []kiln.Tool{
			kiln.NewTool("echo", "Echoes text with its length", echo),
			kiln.NewTool("spin", "Loops forever", spin),
			kiln.NewTool("grow", "Allocates memory until it runs out", grow),
			kiln.NewTool("crash", "Panics", crash),
			kiln.NewTool("env", "Reports the env vars it sees", env),
			kiln.NewTool("report", "Reports progress and logs each step", report).WithTitle("Report progress").
				WithAnnotations(kiln.Annotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: kiln.Bool(false)}),
			kiln.NewTool("count", "Counts for ever, reporting progress", count).
				WithAnnotations(kiln.Annotations{Title: "Count", DestructiveHint: kiln.Bool(false)}),
			kiln.NewTool("flood", "Floods its client with notifications", flood),
		},
	})
}
