package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
)

// maxHeaderWait bounds reading a request's headers (or ReadTimeout, if
// shorter): headers are small, and a client that needs longer is trickling.
const maxHeaderWait = 10 * time.Second

// listen opens the service's listener, holding each client address to its
// share of connections (connlimit.go). Trusted proxies carry many clients'
// connections and are held to the total only.
func listen(addr string, limits config.HTTPLimits, proxies []netip.Prefix, log *slog.Logger) (net.Listener, error) {
	limits = limits.OrDefaults()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return newConnLimitListener(ln, limits.MaxConns, limits.MaxConnsPerAddr, proxies, log), nil
}

// newHTTPServer builds the service's HTTP server, which no client can hold
// a connection of for long without doing its part:
//
//   - reading a request, headers and body, ends at ReadTimeout from its
//     first byte, so a body that trickles or never comes is cut off (once
//     the body is read, net/http lifts the deadline: a handler may work
//     longer);
//   - each write of an answer must be taken by the client within
//     WriteTimeout (writeDeadlines below), however long the handler works
//     between writes: tool calls stream their events and builds run for
//     minutes, bounded by their own limits, not the server's;
//   - a kept-alive connection without a request is closed at IdleTimeout.
//
// Zero limits stand for the defaults.
func newHTTPServer(limits config.HTTPLimits, handler http.Handler) *http.Server {
	limits = limits.OrDefaults()
	return &http.Server{
		Handler:           writeDeadlines(handler, limits.WriteTimeout),
		ReadHeaderTimeout: min(maxHeaderWait, limits.ReadTimeout),
		ReadTimeout:       limits.ReadTimeout,
		// The server's own deadline, for answers written without the
		// handler (a malformed request's 400); writeDeadlines moves it.
		WriteTimeout: limits.WriteTimeout,
		IdleTimeout:  limits.IdleTimeout,
	}
}

// writeDeadlines gives each write of an answer (and the flush after it)
// its own deadline of timeout from the write, instead of one deadline for
// the whole answer from the request's arrival: a stream of events lasts as
// long as its handler, while a client that stops taking the answer is cut
// off after timeout. The deadline is also moved when the handler starts
// (one from an earlier request on the connection may have passed) and when
// it returns, for what the server writes then: the rest of the buffered
// answer and the end of a chunked one.
func writeDeadlines(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}
		dw.extend()
		defer dw.extend()
		next.ServeHTTP(dw, r)
	})
}

// deadlineWriter moves the write deadline before each write and flush. It
// implements FlushError and Unwrap for http.ResponseController, which the
// SDK and Echo flush with.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *deadlineWriter) extend() {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout)) // unsupported only off a real connection
}

func (d *deadlineWriter) WriteHeader(code int) {
	d.extend()
	d.ResponseWriter.WriteHeader(code)
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.extend()
	return d.ResponseWriter.Write(p)
}

// FlushError flushes what was written, under a fresh deadline.
func (d *deadlineWriter) FlushError() error {
	d.extend()
	return d.rc.Flush()
}

// Flush is http.Flusher's, for handlers that type-assert it.
func (d *deadlineWriter) Flush() { _ = d.FlushError() }

// Unwrap gives http.ResponseController the underlying writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
