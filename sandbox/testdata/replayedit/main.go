// Command replayedit is the replay fixture's clock tool after an edit: it
// reads the wall clock before the random bytes instead of after, as a
// changed module would. Replaying a recording of the fixture's clock tool
// on it must report where the two part.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type clockOut struct {
	Now    string `json:"now"`
	Random string `json:"random"`
}

func clock(context.Context, struct{}) (clockOut, error) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	buf := make([]byte, 16)
	rand.Read(buf)
	return clockOut{now, hex.EncodeToString(buf)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Env:   []kiln.EnvVar{{Name: "GREETING", Description: "declared as the replay fixture does"}},
		Tools: []kiln.Tool{kiln.NewTool("clock", "Reads the clock and random bytes", clock)},
	})
}
