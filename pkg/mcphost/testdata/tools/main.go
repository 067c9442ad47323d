// Command tools is the fixture module of mcphost's tests: a well-behaved
// tool with structured output, tools that run into each limit of a plan,
// a crashing one, and one that reports which env vars it can see.
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
		},
	})
}
