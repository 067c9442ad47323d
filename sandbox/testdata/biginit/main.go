// Command biginit reads more random bytes in its initialisation than a
// snapshot keeps of it (sandbox's initRecordLimit, 64 KiB), then answers
// with their digest: a warm call's recording of it must say it is
// truncated, and its replay that it cannot be exact.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// seed is 96 KiB read at initialisation, before the snapshot.
var seed = func() []byte {
	b := make([]byte, 96<<10)
	rand.Read(b)
	return b
}()

type none struct{}

func digest(context.Context, none) (string, error) {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:]), nil
}

func main() {
	kiln.Run(kiln.Module{
		Env:   []kiln.EnvVar{{Name: "GREETING", Description: "declared as the replay fixture does (the replay tests pass it)"}},
		Tools: []kiln.Tool{kiln.NewTool("digest", "The digest of the random bytes read at initialisation", digest)}})
}
