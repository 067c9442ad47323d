package service_test

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// collector is an OTLP/HTTP trace receiver: it decodes what the node's
// exporter sends, in the protocol's real wire format.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	srv   *httptest.Server
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		var req coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(raw, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// span waits for a span named name, as the exporter sends in batches.
func (c *collector) span(t *testing.T, name string) *tracepb.Span {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, s := range c.spans {
			if s.Name == name {
				c.mu.Unlock()
				return s
			}
		}
		c.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no span %q exported; got %v", name, c.names())
	return nil
}

func (c *collector) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for _, s := range c.spans {
		names = append(names, s.Name)
	}
	return names
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			if v, ok := kv.Value.Value.(*commonpb.AnyValue_IntValue); ok {
				return strconv.FormatInt(v.IntValue, 10)
			}
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// TestTracesOfAToolCall: with an OTLP endpoint set, a tools/call whose
// params._meta carries a W3C traceparent makes a "tools/call echo" span in
// the client's trace, with the MCP semantic conventions' attributes, and
// the sandbox call as its child; the HTTP request's span is linked. Tool
// arguments are nowhere in the spans.
func TestTracesOfAToolCall(t *testing.T) {
	col := newCollector(t)
	node := servicetest.Start(t, servicetest.Options{Env: map[string]string{"KILN_OTLP_ENDPOINT": col.srv.URL}})
	srvID, key := echoServer(t, node)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body := `{"jsonrpc":"2.0","id":"call-7","method":"tools/call","params":{"name":"echo","arguments":{"city":"Oslo-secret-argument"},` +
		`"_meta":{"traceparent":"00-` + traceID + `-00f067aa0ba902b7-01"}}}`
	if out := mcpRaw(t, node, srvID, key, body); !strings.Contains(out, "Oslo") {
		t.Fatalf("tools/call: %s", out)
	}

	call := col.span(t, "tools/call echo")
	if got := hex.EncodeToString(call.TraceId); got != traceID {
		t.Errorf("tools/call span in trace %s, want the client's %s", got, traceID)
	}
	if got := hex.EncodeToString(call.ParentSpanId); got != "00f067aa0ba902b7" {
		t.Errorf("tools/call span's parent = %s, want the client's span", got)
	}
	for key, want := range map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "echo",
		"gen_ai.operation.name": "execute_tool", "jsonrpc.request.id": `"call-7"`} {
		if got := attr(call, key); got != want {
			t.Errorf("tools/call span: %s = %q, want %q", key, got, want)
		}
	}
	if call.Kind != tracepb.Span_SPAN_KIND_SERVER || len(call.Links) != 1 {
		t.Errorf("tools/call span: kind %v with %d links; want a server span linked to the HTTP request's", call.Kind, len(call.Links))
	}
	sandbox := col.span(t, "sandbox.call")
	if string(sandbox.ParentSpanId) != string(call.SpanId) || attr(sandbox, "kiln.outcome") != "ok" || attr(sandbox, "kiln.fuel.used") == "" {
		t.Errorf("sandbox.call span: parent %x (want %x), outcome %q, fuel %q",
			sandbox.ParentSpanId, call.SpanId, attr(sandbox, "kiln.outcome"), attr(sandbox, "kiln.fuel.used"))
	}
	httpSpan := col.span(t, "POST /mcp/{server}")
	if string(call.Links[0].SpanId) != string(httpSpan.SpanId) || attr(httpSpan, "http.response.status_code") != "200" {
		t.Errorf("the HTTP span %x (status %s) is not the one linked", httpSpan.SpanId, attr(httpSpan, "http.response.status_code"))
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, s := range col.spans {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), "Oslo") {
				t.Errorf("span %s holds the tool's argument in %s", s.Name, kv.Key)
			}
		}
	}
}

// mcpRaw posts one JSON-RPC body and returns the status and answer.
func mcpRaw(t *testing.T, node *servicetest.Node, serverID, key, body string) string {
	t.Helper()
	status, out := testmodules.PostMCP(t, node.URL+"/mcp/"+serverID, key, body)
	return fmt.Sprintf("%d %s %s", status, http.StatusText(status), out)
}
