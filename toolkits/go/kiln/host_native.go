//go:build !wasip1

package kiln

import (
	"fmt"
	"os"
)

// stdioHost lets a tool run natively (go run . TOOL < args.json) for quick
// checks: the result goes to stdout, log lines to stderr.
type stdioHost struct{}

func defaultHost() host { return stdioHost{} }

func (stdioHost) result(data []byte) { fmt.Println(string(data)) }

func (stdioHost) logMessage(level Level, doc []byte) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", level, doc)
}

func (stdioHost) progress(progress, total float64, message string) {
	fmt.Fprintf(os.Stderr, "[progress] %g/%g %s\n", progress, total, message)
}

// httpRequest is unavailable outside Kiln: the host owns the network.
func (stdioHost) httpRequest([]byte) []byte {
	return []byte(`{"error":"HTTP requests go through the Kiln host; run the tool with kiln run"}`)
}

// input has no one to ask outside Kiln.
func (stdioHost) input(string, []byte) []byte { return nil }

// stopForInput is never reached natively: input answers nil, so AskAll
// returns ErrInputUnavailable first.
func (stdioHost) stopForInput() { os.Exit(0) }
