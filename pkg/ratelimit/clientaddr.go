package ratelimit

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr is the address a request is counted against: the peer, or,
// when the peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For (the ones further left can be forged by the client).
// IPv6 clients are counted per /64, which one subscriber usually holds.
func ClientAddr(r *http.Request, trustedProxies []netip.Prefix) string {
	trusted := func(a netip.Addr) bool {
		for _, p := range trustedProxies {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	peer := ParseAddr(r.RemoteAddr)
	if peer.IsValid() && trusted(peer) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a := ParseAddr(strings.TrimSpace(hops[i]))
			if !a.IsValid() {
				break
			}
			peer = a
			if !trusted(a) {
				break
			}
		}
	}
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	return AddrKey(peer)
}

// AddrKey is what an address is counted as: IPv4 addresses alone, IPv6
// ones per /64, which one subscriber usually holds.
func AddrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ParseAddr reads "ip", "ip:port" or "[ip]:port", IPv4-mapped IPv6
// addresses as IPv4. It returns the zero Addr for anything else.
func ParseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}
