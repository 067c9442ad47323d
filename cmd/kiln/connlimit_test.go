package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
)

// dialFrom connects to addr from the loopback address from (any 127/8
// address is this machine's).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	return c
}

// accepted runs Accept on ln, handing out what it returns.
func accepted(t *testing.T, ln net.Listener) <-chan net.Conn {
	out := make(chan net.Conn)
	go func() {
		defer close(out)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			out <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return out
}

// expectAccepted receives the next accepted connection and checks it is
// from the address from.
func expectAccepted(t *testing.T, conns <-chan net.Conn, from string) net.Conn {
	t.Helper()
	select {
	case c := <-conns:
		if got := c.RemoteAddr().(*net.TCPAddr).IP.String(); got != from {
			t.Fatalf("accepted a connection from %s, want %s", got, from)
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(guard):
		t.Fatalf("no connection from %s accepted", from)
		return nil
	}
}

// expectRefused checks the server closed c without a word.
func expectRefused(t *testing.T, c net.Conn) {
	t.Helper()
	n, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) || n != 0 {
		t.Fatalf("over the limit, the connection was kept: %d bytes, %v", n, err)
	}
}

// TestConnLimits: the third connection from one address is refused while
// other addresses connect, a closed connection gives its place back, the
// total is bounded, and trusted proxies are held to the total only.
func TestConnLimits(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := inner.Addr().String()
	proxy := netip.MustParsePrefix("127.0.0.4/32")
	conns := accepted(t, newConnLimitListener(inner, 5, 2, []netip.Prefix{proxy}, slog.New(slog.DiscardHandler)))

	dialFrom(t, "127.0.0.1", addr)
	first := expectAccepted(t, conns, "127.0.0.1")
	dialFrom(t, "127.0.0.1", addr)
	expectAccepted(t, conns, "127.0.0.1")
	expectRefused(t, dialFrom(t, "127.0.0.1", addr))
	dialFrom(t, "127.0.0.2", addr)
	expectAccepted(t, conns, "127.0.0.2")

	// Closing one of 127.0.0.1's connections (as the HTTP server does)
	// lets it open another.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	first.Close() // a second Close gives back nothing more
	dialFrom(t, "127.0.0.1", addr)
	expectAccepted(t, conns, "127.0.0.1")
	expectRefused(t, dialFrom(t, "127.0.0.1", addr))

	// A trusted proxy is not held to two: it takes the last two places of
	// the five, and then everyone is refused.
	for range 2 {
		dialFrom(t, "127.0.0.4", addr)
		expectAccepted(t, conns, "127.0.0.4")
	}
	expectRefused(t, dialFrom(t, "127.0.0.4", addr))
	expectRefused(t, dialFrom(t, "127.0.0.3", addr))
}

// TestConnLimitOnTheServer: kiln serve's listener refuses the connection
// over the per-address bound while other addresses are served.
func TestConnLimitOnTheServer(t *testing.T) {
	addr := startHTTP(t, config.HTTPLimits{MaxConnsPerAddr: 1}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	get := func(c net.Conn) {
		t.Helper()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: kiln\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len("HTTP/1.1 200"))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "HTTP/1.1 200" {
			t.Fatalf("%q %v", buf, err)
		}
	}
	get(dialFrom(t, "127.0.0.1", addr)) // kept alive: it holds its place
	expectRefused(t, dialFrom(t, "127.0.0.1", addr))
	get(dialFrom(t, "127.0.0.2", addr))
}
