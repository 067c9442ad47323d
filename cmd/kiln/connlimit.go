package main

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/kilnhq/kiln/pkg/ratelimit"
)

// connLimitListener bounds the connections a listener hands out: in all,
// and per client address (ratelimit.AddrKey: an IPv6 /64 is one address).
// A connection beyond either bound is closed as soon as it is accepted, so
// one client cannot take the server's connections, and with them its file
// descriptors and memory, however slowly it talks. Addresses of trusted
// proxies count towards the total only, since many clients share them.
type connLimitListener struct {
	net.Listener
	max, perAddr int
	exempt       []netip.Prefix
	log          *slog.Logger

	mu      sync.Mutex
	total   int
	open    map[string]int
	refused int       // since the last log line
	logged  time.Time // when refusals were last logged
}

// refusalLogEvery spaces the log lines about refused connections: a flood
// of them must not become a flood of log lines.
const refusalLogEvery = 10 * time.Second

func newConnLimitListener(ln net.Listener, max, perAddr int, exempt []netip.Prefix, log *slog.Logger) *connLimitListener {
	return &connLimitListener{Listener: ln, max: max, perAddr: perAddr, exempt: exempt, log: log, open: map[string]int{}}
}

// Accept returns the next connection within the bounds, closing the ones
// beyond them.
func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if key, ok := l.admit(c.RemoteAddr()); ok {
			return &limitedConn{Conn: c, release: func() { l.release(key) }}, nil
		}
		_ = c.Close() // refused; nothing was sent on it
	}
}

// admit counts a new connection from addr if the bounds allow it. The key
// it returns is what release takes.
func (l *connLimitListener) admit(addr net.Addr) (string, bool) {
	a := ratelimit.ParseAddr(addr.String())
	key := ratelimit.AddrKey(a)
	if l.exempted(a) {
		key = "" // counted in the total only
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max || (key != "" && l.open[key] >= l.perAddr) {
		l.refusedLocked(a)
		return "", false
	}
	l.total++
	if key != "" {
		l.open[key]++
	}
	return key, true
}

func (l *connLimitListener) exempted(a netip.Addr) bool {
	for _, p := range l.exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (l *connLimitListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if key == "" {
		return
	}
	if l.open[key]--; l.open[key] == 0 {
		delete(l.open, key) // the map holds open addresses only
	}
}

// refusedLocked logs refusals, at most one line per refusalLogEvery.
func (l *connLimitListener) refusedLocked(a netip.Addr) {
	l.refused++
	if now := time.Now(); now.Sub(l.logged) >= refusalLogEvery {
		l.log.Warn("refusing connections over the limits", "refused", l.refused, "last_addr", a,
			"max_conns", l.max, "max_conns_per_addr", l.perAddr)
		l.refused, l.logged = 0, now
	}
}

// limitedConn gives its place back when closed, once however often it is
// closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite keeps what embedding hides: net/http half-closes a connection
// (FIN, not RST) before closing one whose request body it did not read, so
// that the client still reads the answer (a 413, a 401).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
