package mcphost

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
)

// TestClientIP: proxies are believed only when trusted, and only up to the
// first untrusted hop; IPv6 clients are counted per /64.
func TestClientIP(t *testing.T) {
	h := &Host{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.9:1234", "", "203.0.113.9"},
		{"203.0.113.9:1234", "1.2.3.4", "203.0.113.9"},                     // untrusted peer: header ignored
		{"10.1.1.1:80", "198.51.100.7", "198.51.100.7"},                    // trusted proxy
		{"10.1.1.1:80", "6.6.6.6, 198.51.100.7, 10.2.2.2", "198.51.100.7"}, // forged left part ignored
		{"10.1.1.1:80", "garbage", "10.1.1.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:80", "", "192.0.2.1"},
	} {
		r := httptest.NewRequest("POST", "/mcp/srv_x", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := h.clientIP(r); got != tc.want {
			t.Errorf("%s %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestEveryOutcomeHasAMessage: no outcome reaches an agent without a
// sentence, and limit outcomes name the plan.
func TestEveryOutcomeHasAMessage(t *testing.T) {
	plan, _ := tier.Default(tier.Free)
	for o := sandbox.OutcomeOK; o <= sandbox.OutcomeFuelExhausted; o++ {
		msg := outcomeMessage(sandbox.Result{Outcome: o, Detail: "detail"}, "t", plan)
		switch o {
		case sandbox.OutcomeOK, sandbox.OutcomeToolError:
			if msg != "" {
				t.Errorf("%s: %q", o, msg)
			}
			continue
		case sandbox.OutcomeFuelExhausted, sandbox.OutcomeTimeout, sandbox.OutcomeMemoryLimit, sandbox.OutcomeOutputTooLarge:
			if !strings.Contains(msg, "free plan") {
				t.Errorf("%s does not name the plan: %q", o, msg)
			}
		}
		if !strings.HasPrefix(msg, "The ") || !strings.HasSuffix(msg, ".") {
			t.Errorf("%s: %q is not a sentence", o, msg)
		}
	}
}

func TestChannelName(t *testing.T) {
	if got := channelName("public"); got != "kiln_mcphost_public" {
		t.Fatal(got)
	}
	if got := channelName(strings.Repeat("s", 63)); len(got) > 63 || !strings.HasPrefix(got, notifyPrefix) {
		t.Fatal(got)
	}
}

// TestResolveSchema: what AddTool would panic on never reaches it.
func TestResolveSchema(t *testing.T) {
	for _, bad := range []string{`{"type":"string"}`, `{}`, `[]`, `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`,
		`{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}`} {
		if _, err := resolveSchema([]byte(bad)); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
	if _, err := resolveSchema([]byte(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`)); err != nil {
		t.Fatal(err)
	}
}
