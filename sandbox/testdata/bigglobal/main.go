// Command bigglobal declares an 80 MiB package-level array, which makes
// its initial memory larger than the describe call's memory limit: the
// build must fail with that reason, and the host must live on.
package main

import (
	"context"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

var big [80 << 20]byte

type none struct{}

func touch(context.Context, none) (int, error) {
	big[len(big)-1]++
	return int(big[len(big)-1]), nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{kiln.NewTool("touch", "Touches the big array", touch)}})
}
