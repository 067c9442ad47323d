package mcphost_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// BenchmarkDeployedTools measures the resident memory of one node (this
// test process: host, engine, SQLite store and the benchmark's client)
// with 1,000 and 10,000 tools deployed: servers of 50 tools each (the
// test plan's bound), each deployed (Reload) and called once. Every tool
// is the echo tool of one shared module, so the module is stored,
// compiled and kept warm once: this measures what each deployed tool and
// server costs (rows, *mcp.Server, schemas, registry entries), not 10,000
// distinct modules, each of which would add its compiled code (compiled
// modules are held in an LRU, see sandbox.Config). Run it once:
//
//	go test ./pkg/mcphost -run '^$' -bench DeployedTools -benchtime 1x
func BenchmarkDeployedTools(b *testing.B) {
	for _, n := range []int{1000, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				deployTools(b, n)
			}
		})
	}
}

func deployTools(b *testing.B, n int) {
	ctx := context.Background()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{NoInterpreter: true})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close(ctx)
	s := storetest.SQLite(b)
	e := newEnv(b, s, envOptions{ipLimit: 1 << 30, engine: engine})
	wasm := toolsModule(b)
	payload, _, err := manifest.Extract(wasm)
	if err != nil {
		b.Fatal(err)
	}
	mod := store.Module{Manifest: store.JSON(payload)}
	if err := s.PutModule(ctx, &mod, wasm); err != nil {
		b.Fatal(err)
	}
	// One server first, so the baseline has the module compiled and warm.
	first := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", wasm})
	postCallOK(b, e.url(first.ID), first.key, "echo")
	before := rss(b)

	start := time.Now()
	const perServer = 50
	var cust store.Customer
	for i := 0; i < n; i += perServer {
		if (i/perServer)%bigPlan.ServersPerCustomer == 0 {
			cust = store.Customer{Name: "many tools", Tier: bigPlan.Name}
			if err := s.CreateCustomer(ctx, &cust); err != nil {
				b.Fatal(err)
			}
		}
		srv := store.Server{CustomerID: cust.ID, Name: fmt.Sprintf("server-%d", i/perServer)}
		if err := s.CreateServer(ctx, &srv, func(int) error { return nil }); err != nil {
			b.Fatal(err)
		}
		for j := range min(perServer, n-i) {
			code := "package main"
			tool := store.Tool{ServerID: srv.ID, Name: fmt.Sprintf("echo_%d", j)}
			v := store.ToolVersion{ModuleHash: mod.Hash, ModuleTool: "echo", Source: store.SourceGo, SourceCode: &code, CreatedBy: "bench"}
			if err := s.CreateTool(ctx, &tool, &v, func(int) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if err := e.host.Reload(ctx, srv.ID); err != nil {
			b.Fatal(err)
		}
		postCallOK(b, e.url(srv.ID), e.addKey(cust.ID, &srv.ID), "echo_0")
	}
	took := time.Since(start)
	after := rss(b)
	b.ReportMetric(float64(after)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(after-before)/(1<<20), "rss-delta-MiB")
	b.ReportMetric(float64(after-before)/float64(n), "bytes/tool")
	b.ReportMetric(took.Seconds(), "deploy-s")
	b.ReportMetric(0, "ns/op")
}

// postCallOK calls the echo tool name on a server and fails unless it
// answers with echo's result.
func postCallOK(b *testing.B, url, key, name string) {
	resp := rawPost(b, url, key, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","arguments":{"text":"x"}}}`)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), `"length":1`) || strings.Contains(string(body), `"isError":true`) {
		b.Fatalf("call %s: %d %s %v", name, resp.StatusCode, body, err)
	}
}

// rss is this process's resident set after a full GC, from /proc.
func rss(b *testing.B) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
