// Command replay is the fixture of the recording and replay tests: its
// tools read everything a call can get from the host (the wall and
// monotonic clocks, random bytes, an HTTP response, an env var) and make
// their result depend on all of it, so a replay that fed back anything
// else would answer differently.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"time"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type probeIn struct {
	URL string `json:"url"`
}

type probeOut struct {
	Now      string `json:"now"`
	Elapsed  int64  `json:"elapsed_ns"`
	Random   string `json:"random"`
	Shuffled []int  `json:"shuffled"`
	Keys     string `json:"keys"`
	Status   int    `json:"status"`
	Body     string `json:"body"`
	Greeting string `json:"greeting"`
}

// probe reads the clocks, random bytes (crypto/rand, and math/rand, which
// Go's runtime seeds from the host), iterates a map (whose order the
// runtime's random hash seed decides) and fetches url with a secret.
func probe(ctx context.Context, in probeIn) (probeOut, error) {
	start := time.Now()
	var out probeOut
	buf := make([]byte, 16)
	rand.Read(buf)
	out.Random = hex.EncodeToString(buf)
	out.Shuffled = mrand.Perm(8)
	m := map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}
	for k := range m {
		out.Keys += k
	}
	resp, err := kiln.Fetch(ctx, kiln.HTTPRequest{URL: in.URL, Header: map[string][]string{"Authorization": {"Bearer " + kiln.Secret("TOKEN")}}})
	if err != nil {
		return out, err
	}
	out.Status, out.Body = resp.Status, string(resp.Body)
	out.Greeting = kiln.Env("GREETING")
	out.Now = time.Now().UTC().Format(time.RFC3339Nano)
	out.Elapsed = int64(time.Since(start))
	return out, nil
}

// probeMore is probe done twice, with ?again on the second URL: the same
// code path with more reads, for the divergence tests.
func probeMore(ctx context.Context, in probeIn) (probeOut, error) {
	out, err := probe(ctx, in)
	if err != nil {
		return out, err
	}
	in.URL += "?again"
	return probe(ctx, in)
}

type clockOut struct {
	Now    string `json:"now"`
	Random string `json:"random"`
}

// clock reads the wall clock and random bytes, without the network: the
// benchmark's tool.
func clock(context.Context, struct{}) (clockOut, error) {
	buf := make([]byte, 16)
	rand.Read(buf)
	return clockOut{time.Now().UTC().Format(time.RFC3339Nano), hex.EncodeToString(buf)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Env: []kiln.EnvVar{
			{Name: "GREETING", Description: "a plain setting the tool sees"},
			{Name: "TOKEN", Description: "a secret the host sends for it", Secret: true},
		},
		Egress: []string{"api.test.example"},
		Tools: []kiln.Tool{
			kiln.NewTool("probe", "Reads clocks, random bytes, an env var and a URL", probe),
			kiln.NewTool("probe_more", "Probes twice", probeMore),
			kiln.NewTool("clock", "Reads the clock and random bytes", clock),
		},
	})
}
