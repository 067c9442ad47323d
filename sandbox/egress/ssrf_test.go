package egress

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSSRF is the table of attempts to reach the host or its neighbours.
// The allow list admits everything ("http://*:*"), so each refusal comes
// from the URL or address checks themselves, and no AllowPrivate is set.
// Every attempt targets the counting victim's port where a port matters, and
// the dialer passes through to the real network, so a check that failed
// would show up as an accept (or at least a dial).
func TestSSRF(t *testing.T) {
	victim := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("victim")) }, false)
	vp := victim.port()
	res := newResolver(
		"localhost", "127.0.0.1",
		"public-looking.example.com", "127.0.0.1",
		"metadata.google.internal", "169.254.169.254",
		"mapped.example.com", "::ffff:127.0.0.1",
		"nat64.example.com", "64:ff9b::7f00:1",
		"private.example.com", "10.1.2.3",
		"ula.example.com", "fd12:3456::1",
	)
	res.add("localhost", "::1")
	res.add("mixed.example.com", "93.184.216.34", "127.0.0.1")
	net := newFakeNet()
	c := mustClient(t, Policy{Allow: mustRules(t, "http://*:*", "https://*:*"), Timeout: 2 * time.Second, MaxRequests: 1000},
		nil, WithResolver(res), WithDialer(net.dial))

	at := func(host string) string { return fmt.Sprintf("http://%s:%d/", host, vp) }
	cases := []struct {
		name   string
		url    string
		reason Reason
		msg    string // substring of the error
	}{
		{"loopback", at("127.0.0.1"), ReasonBlockedAddress, "127.0.0.1 is loopback"},
		{"localhost", at("localhost"), ReasonBlockedAddress, "localhost resolves to 127.0.0.1, which is loopback"},
		{"IPv6 loopback", at("[::1]"), ReasonBlockedAddress, "::1 is loopback"},
		{"unspecified", at("0.0.0.0"), ReasonBlockedAddress, "0.0.0.0 is unspecified"},
		{"unspecified IPv6", at("[::]"), ReasonBlockedAddress, "unspecified"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data", ReasonBlockedAddress, "link-local"},
		{"RFC 1918", "http://10.0.0.1/", ReasonBlockedAddress, "private (RFC 1918)"},
		{"RFC 1918 172.16", "http://172.16.0.1/", ReasonBlockedAddress, "private"},
		{"RFC 1918 192.168", "http://192.168.1.1/", ReasonBlockedAddress, "private"},
		{"CGNAT", "http://100.64.0.1/", ReasonBlockedAddress, "carrier-grade NAT"},
		{"broadcast", "http://255.255.255.255/", ReasonBlockedAddress, "broadcast"},
		{"reserved", "http://240.0.0.1/", ReasonBlockedAddress, "reserved"},
		{"benchmarking", "http://198.18.0.1/", ReasonBlockedAddress, "benchmarking"},
		{"IPv4-mapped IPv6", at("[::ffff:127.0.0.1]"), ReasonBlockedAddress, "loopback"},
		{"IPv4-mapped IPv6 hex", at("[::ffff:7f00:1]"), ReasonBlockedAddress, "loopback"},
		{"IPv4-compatible IPv6", at("[::127.0.0.1]"), ReasonBlockedAddress, "IPv4-compatible"},
		{"NAT64 literal", at("[64:ff9b::7f00:1]"), ReasonBlockedAddress, "NAT64"},
		{"6to4 of loopback", "http://[2002:7f00:1::1]/", ReasonBlockedAddress, "6to4"},
		{"Teredo", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", ReasonBlockedAddress, "Teredo"},
		{"unique local", "http://[fd00::1]/", ReasonBlockedAddress, "unique local"},
		{"IPv6 link-local", "http://[fe80::1]/", ReasonBlockedAddress, "link-local"},
		{"IPv6 multicast", "http://[ff02::1]/", ReasonBlockedAddress, "multicast"},
		{"IPv6 zone", at("[fe80::1%25lo]"), ReasonInvalidURL, "zones"},
		{"decimal", at("2130706433"), ReasonNumericHost, "not a canonical dotted-quad"},
		{"hex", at("0x7f.1"), ReasonNumericHost, "not a canonical dotted-quad"},
		{"hex whole", at("0x7f000001"), ReasonNumericHost, "numeric host"},
		{"octal", at("0177.0.0.1"), ReasonNumericHost, "numeric host"},
		{"short form", at("127.1"), ReasonNumericHost, "numeric host"},
		{"zero", at("0"), ReasonNumericHost, "numeric host"},
		{"padded", at("127.000.000.001"), ReasonNumericHost, "numeric host"},
		{"hex quad", at("0x7f.0x0.0x0.0x1"), ReasonNumericHost, "numeric host"},
		{"five parts", at("1.127.0.0.1"), ReasonNumericHost, "numeric host"},
		{"full-width digits", at("１２７．０．０．１"), ReasonBlockedAddress, "127.0.0.1 is loopback"},
		{"trailing dot", at("127.0.0.1."), ReasonBlockedAddress, "loopback"},
		{"percent-encoded host", "http://%31%32%37.0.0.1/", ReasonInvalidURL, "cannot parse"},
		{"user info", fmt.Sprintf("http://api.example.com@127.0.0.1:%d/", vp), ReasonInvalidURL, "user info"},
		{"public-looking name to loopback", at("public-looking.example.com"), ReasonBlockedAddress, "public-looking.example.com resolves to 127.0.0.1"},
		{"public and private answers", at("mixed.example.com"), ReasonBlockedAddress, "resolves to 127.0.0.1"},
		{"metadata by name", "http://metadata.google.internal/computeMetadata/v1/", ReasonBlockedAddress, "link-local"},
		{"name to mapped loopback", at("mapped.example.com"), ReasonBlockedAddress, "loopback"},
		{"name to NAT64 loopback", at("nat64.example.com"), ReasonBlockedAddress, "NAT64"},
		{"name to private", at("private.example.com"), ReasonBlockedAddress, "private"},
		{"name to unique local", at("ula.example.com"), ReasonBlockedAddress, "unique local"},
		{"file scheme", "file:///etc/passwd", ReasonInvalidURL, "scheme"},
		{"gopher scheme", fmt.Sprintf("gopher://127.0.0.1:%d/_", vp), ReasonInvalidURL, "scheme"},
		{"relative", "/latest/meta-data", ReasonInvalidURL, "scheme"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Do(context.Background(), Request{URL: tc.url})
			if err == nil {
				t.Fatalf("request succeeded (status %d)", resp.Status)
			}
			wantDenied(t, err, tc.reason)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
			if n := victim.accepts(); n != 0 {
				t.Fatalf("victim accepted %d connections", n)
			}
			if d := net.dialed(); len(d) != 0 {
				t.Fatalf("dialed %v", d)
			}
		})
	}
}

// TestSSRFSystemResolver checks "localhost" through the real resolver and
// the real dialer (with its connect-time check), as in production.
func TestSSRFSystemResolver(t *testing.T) {
	victim := newTestServer(t, nil, false)
	c := mustClient(t, Policy{Allow: mustRules(t, "http://*:*")}, nil)
	for _, h := range []string{"localhost", "LOCALHOST.", "127.0.0.1"} {
		_, err := c.Do(context.Background(), Request{URL: fmt.Sprintf("http://%s:%d/", h, victim.port())})
		if err == nil {
			t.Fatalf("%s: request succeeded", h)
		}
		// localhost may fail to resolve in odd sandboxes; it must never connect.
		t.Logf("%s: %v", h, err)
		if n := victim.accepts(); n != 0 {
			t.Fatalf("%s: victim accepted %d connections", h, n)
		}
	}
}

// TestControlHookRefuses checks the connect-time second line of defence of
// the default dialer.
func TestControlHookRefuses(t *testing.T) {
	c := mustClient(t, Policy{}, nil)
	for _, a := range []string{"127.0.0.1:80", "[::1]:443", "169.254.169.254:80", "[::ffff:10.0.0.1]:80", "garbage"} {
		if err := c.controlAddr("tcp", a, nil); err == nil {
			t.Errorf("%s: allowed", a)
		}
	}
	if err := c.controlAddr("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
	c = mustClient(t, Policy{AllowPrivate: loopback8}, nil)
	if err := c.controlAddr("tcp", "127.0.0.1:80", nil); err != nil {
		t.Errorf("AllowPrivate ignored: %v", err)
	}
}

// TestSSRFRedirects: an allowed, public-looking server redirects to the
// victim or other private places; every hop is refused before connecting.
// The "internet" is simulated: api.example.com resolves to a public address
// that the test dialer routes to a local server, so no AllowPrivate is
// needed and the victim on 127.0.0.1 is really off limits.
func TestSSRFRedirects(t *testing.T) {
	victim := newTestServer(t, nil, false)
	vp := victim.port()
	api := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		loc := map[string]string{
			"/to-loopback":  fmt.Sprintf("http://127.0.0.1:%d/", vp),
			"/to-localhost": fmt.Sprintf("http://localhost:%d/", vp),
			"/to-metadata":  "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
			"/to-name":      fmt.Sprintf("http://public-looking.example.com:%d/", vp),
			"/to-mapped":    fmt.Sprintf("http://[::ffff:7f00:1]:%d/", vp),
			"/to-decimal":   fmt.Sprintf("http://2130706433:%d/", vp),
			"/to-file":      "file:///etc/passwd",
			"/loop":         "/loop2",
			"/loop2":        "/loop",
			"/self":         "/self",
		}[r.URL.Path]
		if loc == "" {
			w.Write([]byte("ok"))
			return
		}
		code := http.StatusFound
		if r.URL.Query().Get("code") != "" {
			code = http.StatusTemporaryRedirect
		}
		http.Redirect(w, r, loc, code)
	}, false)
	res := newResolver("api.example.com", "93.184.216.34", "localhost", "127.0.0.1", "public-looking.example.com", "127.0.0.1")
	fn := newFakeNet()
	fn.route("93.184.216.34:80", api)
	c := mustClient(t, Policy{Allow: mustRules(t, "http://*:*"), MaxRequests: 100},
		nil, WithResolver(res), WithDialer(fn.dial))

	// The setup works: a plain request reaches the "public" server.
	if resp, err := c.Do(context.Background(), Request{URL: "http://api.example.com/plain"}); err != nil || string(resp.Body) != "ok" {
		t.Fatalf("setup: %v", err)
	}

	cases := []struct {
		path   string
		reason Reason
		msg    string
	}{
		{"/to-loopback", ReasonBlockedAddress, "loopback"},
		{"/to-loopback?code=307", ReasonBlockedAddress, "loopback"},
		{"/to-localhost", ReasonBlockedAddress, "loopback"},
		{"/to-metadata", ReasonBlockedAddress, "link-local"},
		{"/to-name", ReasonBlockedAddress, "resolves to 127.0.0.1"},
		{"/to-mapped", ReasonBlockedAddress, "loopback"},
		{"/to-decimal", ReasonNumericHost, "numeric host"},
		{"/to-file", ReasonInvalidURL, "scheme"},
		{"/loop", ReasonRedirectLoop, "redirect loop"},
		{"/self", ReasonRedirectLoop, "redirect loop"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			before := len(api.requests())
			_, err := c.Do(context.Background(), Request{URL: "http://api.example.com" + tc.path})
			wantDenied(t, err, tc.reason)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
			if n := victim.accepts(); n != 0 {
				t.Fatalf("victim accepted %d connections", n)
			}
			for _, d := range fn.dialed() {
				if d != "93.184.216.34:80" {
					t.Fatalf("dialed %s", d)
				}
			}
			if tc.reason == ReasonRedirectLoop {
				want := 2
				if tc.path == "/self" {
					want = 1
				}
				if got := len(api.requests()) - before; got != want {
					t.Errorf("loop: server saw %d requests, want %d", got, want)
				}
			}
		})
	}
}

// TestDNSRebinding: the resolver answers a public address first and
// 127.0.0.1 afterwards. The client resolves once per request and dials the
// checked answer, so the victim on 127.0.0.1 (listening on the very port
// the URL names) never sees a connection; a second request sees the new
// answer and is refused.
func TestDNSRebinding(t *testing.T) {
	victim := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("victim")) }, false)
	good := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("good")) }, false)
	vp := victim.port()
	res := newResolver()
	res.sequence("rebind.example.com", "93.184.216.34", "127.0.0.1")
	fn := newFakeNet()
	fn.route(hostPort("93.184.216.34", vp), good)
	url := fmt.Sprintf("http://rebind.example.com:%d/", vp)
	c := mustClient(t, Policy{Allow: mustRules(t, fmt.Sprintf("http://rebind.example.com:%d", vp))},
		nil, WithResolver(res), WithDialer(fn.dial))

	resp, err := c.Do(context.Background(), Request{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "good" {
		t.Fatalf("body %q", resp.Body)
	}
	if n := res.count("rebind.example.com"); n != 1 {
		t.Fatalf("resolved %d times for one request; a second lookup is what rebinding exploits", n)
	}
	if d := fn.dialed(); !slices.Equal(d, []string{hostPort("93.184.216.34", vp)}) {
		t.Fatalf("dialed %v, want only the checked address", d)
	}
	if n := victim.accepts(); n != 0 {
		t.Fatalf("victim accepted %d connections", n)
	}

	_, err = c.Do(context.Background(), Request{URL: url})
	wantDenied(t, err, ReasonBlockedAddress)
	if n := victim.accepts(); n != 0 {
		t.Fatalf("victim accepted %d connections", n)
	}
	if d := fn.dialed(); len(d) != 1 {
		t.Fatalf("dialed %v", d)
	}
}
