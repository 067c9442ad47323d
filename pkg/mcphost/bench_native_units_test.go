package mcphost_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/testmodules"
)

// The native baseline for convert_units: the library module's own Go
// source (toolkits/library/units), compiled for this machine, with its
// convertUnits function registered as a tool of a plain go-sdk server —
// the same conversion code as the Wasm module runs, without Kiln. The
// module is a main package of another Go module, so it cannot be imported:
// its files are copied into a temporary module, its main renamed, and a
// main added that serves MCP on 127.0.0.1.

const nativeUnitsMain = `package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	s := mcp.NewServer(&mcp.Implementation{Name: "native-units", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "convert_units", Description: "Converts a quantity between units",
		InputSchema: json.RawMessage(` + "`" + `{"type":"object"}` + "`" + `)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			fail := func(err error) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
			}
			var in convertIn
			if err := json.Unmarshal(req.Params.Arguments, &in); err != nil {
				return fail(err)
			}
			out, err := convertUnits(ctx, in)
			if err != nil {
				return fail(err)
			}
			b, err := json.Marshal(out)
			if err != nil {
				return fail(err)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}, StructuredContent: json.RawMessage(b)}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("http://" + ln.Addr().String())
	fmt.Fprintln(os.Stderr, http.Serve(ln, h))
}
`

// nativeUnitsServer builds and starts the native convert_units server and
// returns its URL; it is stopped when b ends.
func nativeUnitsServer(b *testing.B) string {
	root := testmodules.Root()
	dir := b.TempDir()
	src := filepath.Join(root, "toolkits/library/units")
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		code := strings.Replace(string(data), "\nfunc main() {", "\nfunc kilnMain() {", 1)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(code), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	goMod := "module kilnbench/unitsnative\n\ngo 1.26\n\nrequire (\n" +
		"\tgithub.com/kilnhq/kiln/toolkits/go v0.0.0\n\tgithub.com/modelcontextprotocol/go-sdk " + sdkVersion(b, root) + "\n)\n\n" +
		"replace github.com/kilnhq/kiln/toolkits/go => " + filepath.Join(root, "toolkits/go") + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		b.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(goMod), "go.sum": sum, "native_main.go": []byte(nativeUnitsMain)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "units-native")
	build := exec.Command("go", "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOOS=", "GOARCH=")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the native convert_units server: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("the native convert_units server did not start: %v", err)
	}
	return strings.TrimSpace(line)
}

// sdkVersion is the go-sdk version the main module requires.
func sdkVersion(b *testing.B, root string) string {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/modelcontextprotocol/go-sdk" {
			return f[1]
		}
	}
	b.Fatal("go.mod does not require the go-sdk")
	return ""
}
