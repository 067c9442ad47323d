package egress

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseTarget feeds arbitrary URLs to the URL and host parsing, the
// rule matcher and the address check: none may panic, and what they accept
// must be stable under re-parsing.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/",
		"http://[::ffff:127.0.0.1]/", "http://[fe80::1%25eth0]/", "https://bücher.example/", "http://１２７．０．０．１/",
		"http://a@b/", "http://api.example.com.:443/x?y#z", "http://[::1]:80", "http://%31/", "http://xn--zz/",
		"http://0x/", "http://1.2.3.4.5/", "http://example.com:/", "http://[v1.x]/",
	} {
		f.Add(s)
	}
	anyRule := mustRules(f, "http://*:*", "https://*:*")
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := parseTarget(raw, raw)
		if err != nil {
			if _, ok := err.(*DeniedError); !ok {
				t.Fatalf("untyped error %T", err)
			}
			return
		}
		if tg.scheme != "http" && tg.scheme != "https" || tg.port < 1 || tg.port > 65535 {
			t.Fatalf("accepted %q as %+v", raw, tg)
		}
		// The normalized URL parses to the same destination.
		again, err := parseTarget(tg.url.String(), "")
		if err != nil {
			t.Fatalf("%q normalized to %q, which is refused: %v", raw, tg.url, err)
		}
		if again.host != tg.host || again.port != tg.port || again.scheme != tg.scheme || again.ip != tg.ip {
			t.Fatalf("%q: %+v then %+v", raw, tg, again)
		}
		// A normalized name is never a number in disguise.
		if !tg.ip.IsValid() {
			if _, err := netip.ParseAddr(tg.host); err == nil {
				t.Fatalf("%q: host %q is an address but was not treated as one", raw, tg.host)
			}
			labels := strings.Split(tg.host, ".")
			if isNumericLabel(labels[len(labels)-1]) {
				t.Fatalf("%q: numeric host %q accepted as a name", raw, tg.host)
			}
		} else {
			_ = CheckAddr(tg.ip, nil)
		}
		matched := false
		for _, r := range anyRule {
			matched = matched || r.Matches(tg.scheme, tg.host, tg.port)
		}
		if !matched {
			t.Fatalf("%q: any-host rule does not match %+v", raw, tg)
		}
	})
}

// FuzzParseRule: rules never panic and round-trip through String.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"api.example.com", "*.example.com", "https://api.example.com:8443", "http://*:*", "[::1]:80", "*", "127.1", "bücher.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		again, err := ParseRule(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, r, r.String(), again, err)
		}
		if err := r.validate(); err != nil {
			t.Fatalf("%q: parsed rule fails validation: %v", s, err)
		}
	})
}

// FuzzCheckAddr: the address check never panics, treats an IPv4-mapped
// address exactly like the IPv4 address, and never allows what the
// blocklist names.
func FuzzCheckAddr(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1}, uint8(8))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254}, uint8(0))
	f.Add([]byte{0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1}, uint8(96))
	f.Fuzz(func(t *testing.T, b []byte, bits uint8) {
		var a netip.Addr
		switch {
		case len(b) >= 16:
			a = netip.AddrFrom16([16]byte(b[:16]))
		case len(b) >= 4:
			a = netip.AddrFrom4([4]byte(b[:4]))
		default:
			_ = CheckAddr(a, nil)
			return
		}
		var allow []netip.Prefix
		if p, err := a.Prefix(int(bits) % (a.BitLen() + 1)); err == nil {
			allow = append(allow, p)
		}
		for _, al := range [][]netip.Prefix{nil, allow} {
			err := CheckAddr(a, al)
			if a.Is4In6() && (err == nil) != (CheckAddr(a.Unmap(), al) == nil) {
				t.Fatalf("%s and %s disagree", a, a.Unmap())
			}
			if al == nil && err == nil {
				u := a.Unmap()
				list := specialV4
				if u.Is6() {
					list = specialV6
				}
				for _, s := range list {
					if s.prefix.Contains(u) {
						t.Fatalf("%s allowed but in %s", a, s.prefix)
					}
				}
			}
		}
	})
}

// FuzzTemplates: template parsing and substitution never panic, and a
// request that passes the syntax check has no template left once
// substituted with plain values.
func FuzzTemplates(f *testing.F) {
	for _, s := range []string{"{{secret.A}}", "x{{secret.A}}{{secret.B}}", "{{secret.", "{{{secret.A}}}", "{{secret.A}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := templateRefs(s)
		if err != nil {
			return
		}
		values := map[string]string{}
		for _, n := range names {
			if !validSecretName(n) {
				t.Fatalf("invalid name %q", n)
			}
			values[n] = "V"
		}
		if out := substitute(s, values); strings.Contains(out, templateOpen) {
			t.Fatalf("%q substituted to %q", s, out)
		}
		r := newRedactor([]Secret{{Name: "S", Value: s}})
		if r != nil && s != "" {
			_ = r.Replace(s + s)
		}
	})
}
