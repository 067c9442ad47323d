// Command randinit reads crypto/rand for ever from init, before any tool
// runs: the host does the work, so fuel must charge it and the describe
// call must stop on its fuel or deadline.
package main

import (
	"context"
	"crypto/rand"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

func init() {
	buf := make([]byte, 1<<20)
	for {
		rand.Read(buf)
	}
}

type none struct{}

func noop(context.Context, none) (int, error) { return 0, nil }

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{kiln.NewTool("noop", "Does nothing", noop)}})
}
