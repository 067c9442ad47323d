package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// resolver maps test host names to 127.0.0.1.
type resolver map[string]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

const secretValue = "s3cr3t-value-that-must-stay-outside"

// TestHTTPWithSecret: a Go tool fetches from an allowed host with a secret
// bearer token; the server sees the token, the tool sees the response with
// the echoed token redacted, and the token is nowhere in the module's memory.
func TestHTTPWithSecret(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Write([]byte("you sent: " + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	e := newEngine(t, sandbox.Config{})
	var memories [][]byte
	e.InspectMemory(func(mem []byte) { memories = append(memories, bytes.Clone(mem)) })
	m := load(t, e, hostile(t))
	rule, err := egress.ParseRule("http://api.test.example:" + itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	network := &sandbox.Network{
		Policy:  egress.Policy{Allow: []egress.Rule{rule}, AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Secrets: []egress.Secret{{Name: "TOKEN", Value: secretValue, Hosts: []egress.Rule{rule}}},
		Options: []egress.Option{egress.WithResolver(resolver{"api.test.example": netip.MustParseAddr("127.0.0.1")})},
	}
	url := "http://api.test.example:" + itoa(port) + "/hello"
	res, err := e.Call(context.Background(), m, sandbox.Request{
		Tool: "fetch", Args: []byte(`{"url":"` + url + `","secret":"TOKEN"}`), Limits: limits(), Network: network,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("outcome %v: %s %s", res.Outcome, res.Detail, text(res))
	}
	if got := auth.Load(); got != "Bearer "+secretValue {
		t.Fatalf("the server got Authorization %q", got)
	}
	var out struct {
		Status int
		Body   string
	}
	json.Unmarshal(res.Answer.Structured, &out)
	if out.Status != 200 || out.Body != "you sent: Bearer [redacted:TOKEN]" {
		t.Fatalf("the tool got %+v", out)
	}
	if len(memories) != 1 || len(memories[0]) == 0 {
		t.Fatalf("memory inspected %d times", len(memories))
	}
	if bytes.Contains(memories[0], []byte(secretValue)) {
		t.Fatal("the secret value is in the module's memory")
	}
	for _, l := range res.Logs {
		if strings.Contains(l.Message, secretValue) {
			t.Fatalf("the secret value is in a log line: %q", l.Message)
		}
	}
	// Control: the same search finds the value when the module is given it.
	if _, err := e.Call(context.Background(), m, sandbox.Request{
		Tool: "fetch", Args: []byte(`{"url":"http://nowhere.example/` + secretValue + `"}`), Limits: limits(),
	}); err != nil {
		t.Fatal(err)
	}
	if len(memories) != 2 || !bytes.Contains(memories[1], []byte(secretValue)) {
		t.Fatal("the memory search does not find a value that is in memory")
	}
}

// TestHTTPRefusals: requests outside the policy fail inside the tool with a
// clear error, and no connection reaches the server.
func TestHTTPRefusals(t *testing.T) {
	var accepted atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	port := itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	allowed, _ := egress.ParseRule("http://api.test.example:" + port)
	other, _ := egress.ParseRule("http://other.test.example:" + port)
	network := &sandbox.Network{
		Policy:  egress.Policy{Allow: []egress.Rule{allowed, other}},
		Secrets: []egress.Secret{{Name: "TOKEN", Value: secretValue, Hosts: []egress.Rule{allowed}}},
		Options: []egress.Option{egress.WithResolver(resolver{
			"api.test.example":   netip.MustParseAddr("127.0.0.1"),
			"other.test.example": netip.MustParseAddr("127.0.0.1"),
		})},
	}
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, hostile(t))
	for _, tc := range []struct {
		name, args string
		network    *sandbox.Network
		says       string
	}{
		{"no network", `{"url":"http://api.test.example:` + port + `/"}`, nil, "no network access"},
		{"loopback without the operator's exception", `{"url":"http://api.test.example:` + port + `/"}`, network, "127.0.0.1"},
		{"literal loopback", `{"url":"http://127.0.0.1:` + port + `/"}`, network, "denied"},
		{"host outside the policy", `{"url":"http://evil.test.example:` + port + `/"}`, network, "not an allowed destination"},
		{"secret to a host it is not bound to", `{"url":"http://other.test.example:` + port + `/","secret":"TOKEN"}`, network, "TOKEN"},
	} {
		res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "fetch", Args: []byte(tc.args), Limits: limits(), Network: tc.network})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != sandbox.OutcomeToolError || !strings.Contains(text(res), tc.says) {
			t.Errorf("%s: %v %q, want a tool error mentioning %q", tc.name, res.Outcome, text(res), tc.says)
		}
		if strings.Contains(text(res), secretValue) {
			t.Errorf("%s: the error shows the secret", tc.name)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached the server", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
