package egress

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	good := []struct {
		in   string
		want Rule
	}{
		{"api.example.com", Rule{Scheme: "https", Host: "api.example.com", Port: 443}},
		{"  API.Example.COM.  ", Rule{Scheme: "https", Host: "api.example.com", Port: 443}},
		{"https://api.example.com/", Rule{Scheme: "https", Host: "api.example.com", Port: 443}},
		{"HTTPS://api.example.com:8443", Rule{Scheme: "https", Host: "api.example.com", Port: 8443}},
		{"http://api.example.com", Rule{Scheme: "http", Host: "api.example.com", Port: 80}},
		{"http://api.example.com:*", Rule{Scheme: "http", Host: "api.example.com"}},
		{"*.example.com", Rule{Scheme: "https", Host: "example.com", Wildcard: true, Port: 443}},
		{"*", Rule{Scheme: "https", AnyHost: true, Port: 443}},
		{"http://*:*", Rule{Scheme: "http", AnyHost: true}},
		{"[2001:DB8::1]:444", Rule{Scheme: "https", Host: "2001:db8::1", Port: 444}},
		{"93.184.216.34", Rule{Scheme: "https", Host: "93.184.216.34", Port: 443}},
		{"bücher.example", Rule{Scheme: "https", Host: "xn--bcher-kva.example", Port: 443}},
	}
	for _, tc := range good {
		got, err := ParseRule(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
		again, err := ParseRule(got.String())
		if err != nil || again != got {
			t.Errorf("%q: String %q does not round-trip: %+v %v", tc.in, got.String(), again, err)
		}
	}
	bad := []string{
		"", "   ", "ftp://api.example.com", "://x", "api.example.com/path", "api.example.com?q", "user@api.example.com",
		"*.", "*.*.example.com", "a.*.example.com", "*example.com", "**", "127.1", "0x7f.1", "2130706433",
		"[::1", "[::1]x", "::1", "[127.0.0.1]", "[fe80::1%eth0]", "api.example.com:", "api.example.com:0",
		"api.example.com:65536", "api.example.com:http", "a_b.example.com", "-a.example.com", "a..example.com",
		"*.10.0.0.1", "*.1", strings.Repeat("a", 64) + ".example.com",
	}
	for _, in := range bad {
		if r, err := ParseRule(in); err == nil {
			t.Errorf("%q accepted as %+v", in, r)
		} else if !strings.HasPrefix(err.Error(), "egress: rule ") {
			t.Errorf("%q: unclear error %v", in, err)
		}
	}
}

func TestRuleMatches(t *testing.T) {
	type dest struct {
		scheme, host string
		port         int
	}
	cases := []struct {
		rule string
		yes  []dest
		no   []dest
	}{
		{"api.example.com",
			[]dest{{"https", "api.example.com", 443}},
			[]dest{{"http", "api.example.com", 80}, {"https", "api.example.com", 8443}, {"https", "x.api.example.com", 443}, {"https", "example.com", 443}, {"https", "api.example.com.evil.com", 443}}},
		{"*.example.com",
			[]dest{{"https", "a.example.com", 443}, {"https", "a.b.example.com", 443}},
			[]dest{{"https", "example.com", 443}, {"https", "badexample.com", 443}, {"https", "a.example.com.evil", 443}, {"http", "a.example.com", 80}}},
		{"http://*:*",
			[]dest{{"http", "anything.test", 1}, {"http", "127.0.0.1", 80}},
			[]dest{{"https", "anything.test", 443}, {"http", "", 80}}},
		{"[::1]:8080",
			[]dest{{"https", "::1", 8080}},
			[]dest{{"https", "::2", 8080}}},
	}
	for _, tc := range cases {
		r, err := ParseRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range tc.yes {
			if !r.Matches(d.scheme, d.host, d.port) {
				t.Errorf("%s should match %v", tc.rule, d)
			}
		}
		for _, d := range tc.no {
			if r.Matches(d.scheme, d.host, d.port) {
				t.Errorf("%s should not match %v", tc.rule, d)
			}
		}
	}
}

func TestParseTarget(t *testing.T) {
	good := []struct {
		in, url, host string
		port          int
		ip            bool
	}{
		{"HTTP://API.Example.COM.:443/p?q=1#frag", "http://api.example.com:443/p?q=1", "api.example.com", 443, false},
		{"https://api.example.com", "https://api.example.com", "api.example.com", 443, false},
		{"http://api.example.com:/x", "http://api.example.com/x", "api.example.com", 80, false},
		{"https://bücher.example/ä", "https://xn--bcher-kva.example/%C3%A4", "xn--bcher-kva.example", 443, false},
		{"http://93.184.216.34:8080/", "http://93.184.216.34:8080/", "93.184.216.34", 8080, true},
		{"http://[2606:4700:0::1111]/", "http://[2606:4700::1111]/", "2606:4700::1111", 80, true},
		{"http://１２７．０．０．１/", "http://127.0.0.1/", "127.0.0.1", 80, true},
	}
	for _, tc := range good {
		tg, err := parseTarget(tc.in, tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if tg.url.String() != tc.url || tg.host != tc.host || tg.port != tc.port || tg.ip.IsValid() != tc.ip {
			t.Errorf("%q: got %s %s %d %v", tc.in, tg.url, tg.host, tg.port, tg.ip)
		}
	}
	bad := map[string]Reason{
		"http://2130706433/":                           ReasonNumericHost,
		"http://0x7f.1/":                               ReasonNumericHost,
		"http://0177.0.0.1/":                           ReasonNumericHost,
		"http://127.1/":                                ReasonNumericHost,
		"http://127.0.0.01/":                           ReasonNumericHost,
		"http://example.123/":                          ReasonNumericHost,
		"http://[::1%25eth0]/":                         ReasonInvalidURL,
		"http://[127.0.0.1]/":                          ReasonInvalidURL,
		"http://a_b.example/":                          ReasonInvalidURL,
		"http://a..b/":                                 ReasonInvalidURL,
		"http://user:pw@example.com/":                  ReasonInvalidURL,
		"http://example.com:0/":                        ReasonInvalidURL,
		"http://example.com:99999/":                    ReasonInvalidURL,
		"ws://example.com/":                            ReasonInvalidURL,
		"http:example.com":                             ReasonInvalidURL,
		"http:///path":                                 ReasonInvalidURL,
		"http://exa mple.com/":                         ReasonInvalidURL,
		"http://" + strings.Repeat("a.", 127) + "com/": ReasonInvalidURL,
		"http://example.com/" + strings.Repeat("x", maxURLBytes): ReasonInvalidURL,
	}
	for in, reason := range bad {
		_, err := parseTarget(in, in)
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if de, ok := err.(*DeniedError); !ok || de.Reason != reason {
			t.Errorf("%q: got %v, want %s", in, err, reason)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	blockedAddrs := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.255.254",
		"169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.0.1",
		"198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
		"255.255.255.255",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "::ffff:0:7f00:1",
		"64:ff9b::7f00:1", "64:ff9b::808:808", "64:ff9b:1::1", "100::1", "2001::1", "2001:2::1", "2001:db8::1",
		"2002:7f00:1::1", "3fff::1", "5f00::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "fec0::1",
		"ff02::1", "ff0e::1", "4000::1", "8000::1", "e000::1", "fe80::1%eth0",
	}
	for _, s := range blockedAddrs {
		if err := CheckAddr(netip.MustParseAddr(s), nil); err == nil {
			t.Errorf("%s allowed", s)
		} else if de, ok := err.(*DeniedError); !ok || de.Reason != ReasonBlockedAddress {
			t.Errorf("%s: %v", s, err)
		}
	}
	if CheckAddr(netip.Addr{}, nil) == nil {
		t.Error("zero Addr allowed")
	}
	public := []string{"8.8.8.8", "93.184.216.34", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.32.0.1", "198.20.0.1",
		"223.255.255.255", "::ffff:8.8.8.8", "2606:4700::1111", "2a00:1450:4001::1", "2001:4860:4860::8888"}
	for _, s := range public {
		if err := CheckAddr(netip.MustParseAddr(s), nil); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}

	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("0.0.0.0/0")}
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "fd00::1", "10.0.0.1"} {
		if err := CheckAddr(netip.MustParseAddr(s), allow); err != nil {
			t.Errorf("%s with AllowPrivate: %v", s, err)
		}
	}
	// Never allowed, whatever the operator says.
	for _, s := range []string{"0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "ff02::1", "::ffff:0.0.0.0"} {
		if CheckAddr(netip.MustParseAddr(s), allow) == nil {
			t.Errorf("%s allowed by AllowPrivate", s)
		}
	}
	// NAT64 allowed by the operator still checks the embedded address.
	nat := []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96")}
	if CheckAddr(netip.MustParseAddr("64:ff9b::808:808"), nat) != nil {
		t.Error("NAT64 of a public address refused with NAT64 allowed")
	}
	if err := CheckAddr(netip.MustParseAddr("64:ff9b::7f00:1"), nat); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("NAT64 of loopback: %v", err)
	}
}

func TestAllowPrivateMappedPrefix(t *testing.T) {
	c, err := NewClient(Policy{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.p.AllowPrivate[0].String(); got != "127.0.0.0/8" {
		t.Errorf("normalized to %s", got)
	}
}
