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

func (stdioHost) log(level Level, msg string) { fmt.Fprintf(os.Stderr, "[%d] %s\n", level, msg) }

// httpRequest is unavailable outside Kiln: the host owns the network.
func (stdioHost) httpRequest([]byte) []byte {
	return []byte(`{"error":"HTTP requests go through the Kiln host; run the tool with kiln run"}`)
}
