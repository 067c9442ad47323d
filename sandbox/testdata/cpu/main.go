// Command cpu is a benchmark module built with the Go toolkit: each tool
// does CPU-bound work of a common kind, repeated `rounds` times.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"sort"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type roundsIn struct {
	Rounds int `json:"rounds"`
}

type record struct {
	ID    int               `json:"id"`
	Name  string            `json:"name"`
	Tags  []string          `json:"tags"`
	Score float64           `json:"score"`
	Attrs map[string]string `json:"attrs"`
}

func jsonLoop(_ context.Context, in roundsIn) (int, error) {
	recs := make([]record, 50)
	for i := range recs {
		recs[i] = record{ID: i, Name: "record", Tags: []string{"a", "b", "c"}, Score: float64(i) / 3, Attrs: map[string]string{"k": "v", "x": "y"}}
	}
	total := 0
	for range in.Rounds {
		data, err := json.Marshal(recs)
		if err != nil {
			return 0, err
		}
		var back []record
		if err := json.Unmarshal(data, &back); err != nil {
			return 0, err
		}
		total += len(data) + len(back)
	}
	return total, nil
}

func hashLoop(_ context.Context, in roundsIn) (string, error) {
	sum := sha256.Sum256([]byte("kiln"))
	for range in.Rounds * 1000 {
		sum = sha256.Sum256(sum[:])
	}
	return hex.EncodeToString(sum[:]), nil
}

func sortLoop(_ context.Context, in roundsIn) (int, error) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]int, 10_000)
	checksum := 0
	for range in.Rounds {
		for i := range xs {
			xs[i] = r.IntN(1 << 30)
		}
		sort.Ints(xs)
		checksum += xs[len(xs)/2]
	}
	return checksum, nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("json", "Encodes and decodes 50 records, rounds times", jsonLoop),
		kiln.NewTool("hash", "Chains SHA-256 1000*rounds times", hashLoop),
		kiln.NewTool("sort", "Sorts 10,000 random integers, rounds times", sortLoop),
	}})
}
