// Command hostile is a test module built with the Go toolkit: each tool
// misbehaves in one way the sandbox must contain.
package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// calls counts calls served by this instance; a fresh instance per call keeps it at 1.
var calls int

type none struct{}

type countOut struct {
	Calls int `json:"calls"`
}

func count(context.Context, none) (countOut, error) {
	calls++
	return countOut{calls}, nil
}

type envIn struct {
	Name string `json:"name"`
}

type envOut struct {
	Value   string   `json:"value"`
	Environ []string `json:"environ"`
}

func getenv(_ context.Context, in envIn) (envOut, error) {
	return envOut{Value: os.Getenv(in.Name), Environ: os.Environ()}, nil
}

type pathIn struct {
	Path string `json:"path"`
}

func readFile(_ context.Context, in pathIn) (string, error) {
	data, err := os.ReadFile(in.Path)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

func writeFile(_ context.Context, in pathIn) (string, error) {
	if err := os.WriteFile(in.Path, []byte("owned"), 0o644); err != nil {
		return "", err
	}
	return "written", nil
}

func listDir(_ context.Context, in pathIn) (string, error) {
	entries, err := os.ReadDir(in.Path)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, ","), nil
}

type sizeIn struct {
	MiB int `json:"mib"`
}

var sink [][]byte

func alloc(_ context.Context, in sizeIn) (string, error) {
	for range in.MiB {
		sink = append(sink, make([]byte, 1<<20))
	}
	return "allocated", nil
}

func bigResult(_ context.Context, in sizeIn) (string, error) {
	return strings.Repeat("x", in.MiB<<20), nil
}

func spin(context.Context, none) (string, error) {
	for i := 0; ; i++ {
		if i < 0 {
			return "", errors.New("unreachable")
		}
	}
}

func recurse(ctx context.Context, in sizeIn) (string, error) {
	var buf [256]byte
	buf[0] = byte(in.MiB)
	out, err := recurse(ctx, sizeIn{in.MiB + int(buf[0]&1)})
	return out + string(buf[:1]), err
}

func crash(context.Context, none) (string, error) {
	var m map[string]int
	m["boom"]++
	return "", nil
}

func fail(context.Context, none) (string, error) {
	return "", errors.New("the city was not found")
}

type fetchIn struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty" description:"name of a secret to send as a bearer token"`
}

type fetchOut struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func fetch(ctx context.Context, in fetchIn) (fetchOut, error) {
	header := map[string][]string{}
	if in.Secret != "" {
		header["Authorization"] = []string{"Bearer " + kiln.Secret(in.Secret)}
	}
	resp, err := kiln.Fetch(ctx, kiln.HTTPRequest{URL: in.URL, Header: header})
	if err != nil {
		return fetchOut{}, err
	}
	return fetchOut{resp.Status, string(resp.Body)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Env:    []kiln.EnvVar{{Name: "GREETING", Description: "declared and passed"}},
		Egress: []string{"api.test.example"},
		Tools: []kiln.Tool{
			kiln.NewTool("count", "Counts calls in a global", count),
			kiln.NewTool("getenv", "Reads an env var and the whole environment", getenv),
			kiln.NewTool("read_file", "Reads a file", readFile),
			kiln.NewTool("write_file", "Writes a file", writeFile),
			kiln.NewTool("list_dir", "Lists a directory", listDir),
			kiln.NewTool("alloc", "Allocates MiB of heap and keeps it", alloc),
			kiln.NewTool("big_result", "Returns a result of MiB size", bigResult),
			kiln.NewTool("spin", "Loops forever", spin),
			kiln.NewTool("recurse", "Recurses without end", recurse),
			kiln.NewTool("crash", "Panics", crash),
			kiln.NewTool("fail", "Returns an error", fail),
			kiln.NewTool("fetch", "Fetches a URL through the host", fetch),
		},
	})
}
