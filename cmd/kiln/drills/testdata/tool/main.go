// Command tool is the drills' fixture module: "echo", a call that returns
// at once, and "wait", a call that lasts until a test's HTTP server
// answers, so a drill knows a call is in flight without guessing how long
// one takes. Its egress is plain http to one fixed port of 127.0.0.1
// (holdAddr in the drills; nodes run with --egress-allow-private): a
// manifest names ports, not ranges.
package main

import (
	"context"
	"fmt"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type echoIn struct {
	Text string `json:"text" description:"Text to echo"`
}

type echoOut struct {
	Text string `json:"text"`
}

func echo(_ context.Context, in echoIn) (echoOut, error) { return echoOut{Text: in.Text}, nil }

type waitIn struct {
	URL string `json:"url" description:"URL to GET; the call answers once it has"`
}

type waitOut struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func wait(ctx context.Context, in waitIn) (waitOut, error) {
	res, err := kiln.Fetch(ctx, kiln.HTTPRequest{Method: "GET", URL: in.URL})
	if err != nil {
		return waitOut{}, fmt.Errorf("fetching %s: %w", in.URL, err)
	}
	return waitOut{Status: res.Status, Body: string(res.Body)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Egress: []string{"http://127.0.0.1:39127"},
		Tools: []kiln.Tool{
			kiln.NewTool("echo", "Echoes text", echo),
			kiln.NewTool("wait", "GETs a URL and answers once it has", wait),
		},
	})
}
