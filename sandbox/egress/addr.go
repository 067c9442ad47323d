package egress

import (
	"fmt"
	"net/netip"
)

// special is an address range a tool may not reach by default, with the
// reason given in errors.
type special struct {
	prefix netip.Prefix
	what   string
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// specialV4 lists IPv4 ranges that are not publicly routable unicast (IANA
// special-purpose registry). Behind each is something a tool must not reach
// from the host's position: the host itself, the operator's private network,
// the cloud provider's metadata service (169.254.169.254 hands out
// credentials), or address space whose routing is undefined. Order matters
// only for the message: more specific first.
var specialV4 = []special{
	{mustPrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0/8; connecting to it reaches the host itself)"},
	{mustPrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{mustPrefix("100.64.0.0/10"), "carrier-grade NAT shared space (100.64.0.0/10)"},
	{mustPrefix("127.0.0.0/8"), "loopback"},
	{mustPrefix("169.254.0.0/16"), "link-local (169.254.0.0/16, where cloud metadata services live)"},
	{mustPrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{mustPrefix("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"},
	{mustPrefix("192.0.2.0/24"), "documentation (192.0.2.0/24)"},
	{mustPrefix("192.88.99.0/24"), "6to4 relay anycast (192.88.99.0/24)"},
	{mustPrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{mustPrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{mustPrefix("198.51.100.0/24"), "documentation (198.51.100.0/24)"},
	{mustPrefix("203.0.113.0/24"), "documentation (203.0.113.0/24)"},
	{mustPrefix("224.0.0.0/4"), "multicast"},
	{mustPrefix("255.255.255.255/32"), "broadcast"},
	{mustPrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},
}

// specialV6 lists IPv6 ranges with a named reason. Everything outside
// 2000::/3 (global unicast) is refused as well, so these entries mostly give
// better messages; the ones inside 2000::/3 (Teredo, 6to4, documentation,
// ...) are real additions. Teredo, 6to4 and NAT64 embed an IPv4 address
// that a relay may forward to, which is how "::ffff:"-style filters are
// bypassed with other notations.
var specialV6 = []special{
	{mustPrefix("::/128"), "unspecified"},
	{mustPrefix("::1/128"), "loopback"},
	{mustPrefix("::/96"), "IPv4-compatible IPv6 (deprecated)"},
	{mustPrefix("::ffff:0:0:0/96"), "IPv4-translated IPv6"},
	{mustPrefix("64:ff9b::/96"), "NAT64 (64:ff9b::/96)"},
	{mustPrefix("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"},
	{mustPrefix("100::/64"), "discard-only (100::/64)"},
	{mustPrefix("2001::/32"), "Teredo (2001::/32)"},
	{mustPrefix("2001::/23"), "IETF protocol assignments (2001::/23)"},
	{mustPrefix("2001:db8::/32"), "documentation (2001:db8::/32)"},
	{mustPrefix("2002::/16"), "6to4 (2002::/16)"},
	{mustPrefix("3fff::/20"), "documentation (3fff::/20)"},
	{mustPrefix("5f00::/16"), "SRv6 SIDs (5f00::/16)"},
	{mustPrefix("fc00::/7"), "unique local (fc00::/7)"},
	{mustPrefix("fe80::/10"), "link-local (fe80::/10)"},
	{mustPrefix("fec0::/10"), "site-local (deprecated)"},
	{mustPrefix("ff00::/8"), "multicast"},
}

var (
	globalUnicast6 = mustPrefix("2000::/3")
	nat64          = mustPrefix("64:ff9b::/96")
	broadcast4     = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// CheckAddr reports whether a tool may connect to addr. It returns nil or a
// *DeniedError with ReasonBlockedAddress explaining the range.
//
// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) are checked as the IPv4
// address they are, since that is where the kernel sends them. allowPrivate
// is the operator's exception list; unspecified, multicast and broadcast
// addresses are refused even inside it, because they are never one remote
// host (connecting to 0.0.0.0 or :: reaches the local machine). An allowed
// NAT64 address must also embed an allowed IPv4 address.
func CheckAddr(addr netip.Addr, allowPrivate []netip.Prefix) error {
	if why := blocked(addr, allowPrivate); why != "" {
		return &DeniedError{Reason: ReasonBlockedAddress, Detail: fmt.Sprintf("address %s is %s", addr, why)}
	}
	return nil
}

// blocked returns why addr is refused, or "".
func blocked(addr netip.Addr, allowPrivate []netip.Prefix) string {
	if !addr.IsValid() {
		return "not a valid address"
	}
	if addr.Zone() != "" {
		return "scoped to an interface (IPv6 zone)"
	}
	a := addr.Unmap()
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case a == broadcast4:
		return "broadcast"
	}
	for _, p := range allowPrivate {
		if p.Contains(a) {
			if a.Is6() && nat64.Contains(a) {
				b := a.As16()
				v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
				if why := blocked(v4, allowPrivate); why != "" {
					return fmt.Sprintf("NAT64 for %s, which is %s", v4, why)
				}
			}
			return ""
		}
	}
	list := specialV4
	if a.Is6() {
		list = specialV6
	}
	for _, s := range list {
		if s.prefix.Contains(a) {
			return s.what
		}
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return "outside IPv6 global unicast (2000::/3)"
	}
	return ""
}

// normalizePrefix makes an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104)
// the IPv4 prefix it means, since CheckAddr compares unmapped addresses.
func normalizePrefix(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("invalid prefix")
	}
	p = p.Masked()
	// A masked prefix whose address is still IPv4-mapped has at least 96
	// bits; shorter ones cover no mapped address once addresses are unmapped,
	// which errs on the closed side.
	if a := p.Addr(); a.Is4In6() {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked(), nil
	}
	return p, nil
}
