package mcphost_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/store/storetest"
)

type echoIn struct {
	Text string `json:"text" jsonschema:"Text to echo"`
}

type echoOut struct {
	Text   string `json:"text"`
	Length int    `json:"length"`
}

// nativeServer is the baseline: the same echo tool as a Go function in a
// plain go-sdk server, with the same transport options as Kiln's.
func nativeServer(b *testing.B) string {
	s := mcp.NewServer(&mcp.Implementation{Name: "native", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echoes text with its length"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
			return nil, echoOut{Text: in.Text, Length: utf8.RuneCountInString(in.Text)}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkToolCall measures tools/call of a trivial tool over HTTP on
// 127.0.0.1, through Kiln (auth, rate limits, plan lookup, a fresh Wasm
// instance under fuel, the execution log on SQLite) and through a native
// go-sdk server with the tool as a Go function, in the same run. Each
// iteration makes one call to each, alternating, so both see the same
// machine; then each serves concurrent clients for a second. It reports
// p50/p99 latency, calls per second and the Kiln/native ratios:
//
//	go test ./pkg/mcphost -run '^$' -bench ToolCall -benchtime 500x
func BenchmarkToolCall(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b), envOptions{ipLimit: 1 << 30})
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(b)})
	kiln := connect(b, e.url(srv.ID), srv.key)
	native := connect(b, nativeServer(b), "")
	args := map[string]any{"text": "hello, benchmark"}
	callOnce := func(s *mcp.ClientSession) time.Duration {
		start := time.Now()
		res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: args})
		if err != nil || res.IsError {
			b.Fatalf("call: %v %v", err, res)
		}
		return time.Since(start)
	}
	for range 20 { // warm up: compile caches, connections
		callOnce(kiln)
		callOnce(native)
	}
	var kilnLat, nativeLat []time.Duration
	b.ResetTimer()
	for range b.N {
		kilnLat = append(kilnLat, callOnce(kiln))
		nativeLat = append(nativeLat, callOnce(native))
	}
	b.StopTimer()
	kp50, kp99 := percentiles(kilnLat)
	np50, np99 := percentiles(nativeLat)
	kcps := throughput(b, kiln, args)
	ncps := throughput(b, native, args)
	b.ReportMetric(float64(kp50.Microseconds()), "kiln-p50-µs")
	b.ReportMetric(float64(kp99.Microseconds()), "kiln-p99-µs")
	b.ReportMetric(float64(np50.Microseconds()), "native-p50-µs")
	b.ReportMetric(float64(np99.Microseconds()), "native-p99-µs")
	b.ReportMetric(float64(kp50)/float64(np50), "p50-ratio")
	b.ReportMetric(float64(kp99)/float64(np99), "p99-ratio")
	b.ReportMetric(kcps, "kiln-calls/s")
	b.ReportMetric(ncps, "native-calls/s")
	b.ReportMetric(ncps/kcps, "throughput-ratio")
	b.ReportMetric(0, "ns/op") // per-op time mixes both servers; the metrics above are the result
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

// throughput runs four clients for a second and returns calls per second.
func throughput(b *testing.B, s *mcp.ClientSession, args map[string]any) float64 {
	const clients, window = 4, time.Second
	var n atomic.Int64
	deadline := time.Now().Add(window)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: args})
				if err != nil || res.IsError {
					b.Errorf("call: %v %v", err, res)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / window.Seconds()
}
