package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
)

// guard bounds every wait of these tests: reaching it is a failure (a
// connection that was not cut off), never a measurement.
const guard = 30 * time.Second

// startHTTP serves handler as kiln serve does, with limits, on 127.0.0.1.
func startHTTP(t *testing.T, limits config.HTTPLimits, handler http.Handler) string {
	t.Helper()
	ln, err := listen("127.0.0.1:0", limits, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(limits, handler)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// dial opens a raw connection, with the guard as its deadline.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	return c
}

// expectClosedByServer reads from c until the server closes it.
func expectClosedByServer(t *testing.T, r io.Reader) {
	t.Helper()
	_, err := io.Copy(io.Discard, r)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server kept the connection open")
	}
}

// TestReadTimeoutCutsOffSlowRequests: a request that trickles in, or whose
// body never comes, ends at the read timeout however long the client
// would go on.
func TestReadTimeoutCutsOffSlowRequests(t *testing.T) {
	bodyErrs := make(chan error, 1)
	addr := startHTTP(t, config.HTTPLimits{ReadTimeout: time.Second}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErrs <- err
	}))
	for _, tc := range []struct {
		name, head string
		trickle    bool
	}{
		{"body trickles", "POST / HTTP/1.1\r\nHost: kiln\r\nContent-Length: 100000\r\n\r\n", true},
		{"body never comes", "POST / HTTP/1.1\r\nHost: kiln\r\nContent-Length: 10\r\n\r\n", false},
		{"headers trickle", "POST / HTTP/1.1\r\nHost: kiln\r\nX-Slow: ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			if tc.trickle {
				go trickle(c, stop)
			}
			if strings.HasPrefix(tc.name, "body") {
				select {
				case err := <-bodyErrs:
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("reading the body: %v, want the read deadline", err)
					}
				case <-time.After(guard):
					t.Fatal("the body was still being read")
				}
			}
			expectClosedByServer(t, c)
		})
	}
}

// trickle writes a byte every 100ms until stopped or refused.
func trickle(c net.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
		}
	}
}

// TestIdleConnectionClosed: a kept-alive connection without a next request
// is closed at the idle timeout.
func TestIdleConnectionClosed(t *testing.T) {
	addr := startHTTP(t, config.HTTPLimits{IdleTimeout: 200 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: kiln\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close || string(body) != "ok" {
		t.Fatalf("want a kept-alive 200: %s close=%v %q", resp.Status, resp.Close, body)
	}
	expectClosedByServer(t, br)
}

// TestHandlersOutliveTheReadTimeout: the read timeout is for the request;
// a handler that works longer after reading it keeps its context. (A read
// deadline left on the connection would cancel it: net/http's watch for the
// client going away would fail at it. net/http lifts the deadline once the
// body is read.)
func TestHandlersOutliveTheReadTimeout(t *testing.T) {
	const readTimeout = 200 * time.Millisecond
	addr := startHTTP(t, config.HTTPLimits{ReadTimeout: readTimeout}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// The work, longer than the read timeout.
		select {
		case <-r.Context().Done():
			http.Error(w, "canceled", http.StatusInternalServerError)
		case <-time.After(5 * readTimeout):
			fmt.Fprintf(w, "done %s", body)
		}
	}))
	for _, tc := range []struct{ method, body string }{{"POST", "x"}, {"GET", ""}} {
		req, _ := http.NewRequest(tc.method, "http://"+addr+"/", strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != "done "+tc.body {
			t.Errorf("%s: %s %q", tc.method, resp.Status, got)
		}
	}
}

// TestStreamOutlivesTheWriteTimeout: each write of an answer has its own
// deadline, so a stream of events may last longer than the write timeout.
func TestStreamOutlivesTheWriteTimeout(t *testing.T) {
	const writeTimeout = 200 * time.Millisecond
	addr := startHTTP(t, config.HTTPLimits{WriteTimeout: writeTimeout}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range 4 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := rc.Flush(); err != nil {
				return
			}
			<-time.After(writeTimeout) // four of them: longer than one deadline
		}
	}))
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(got) != "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n" {
		t.Fatalf("stream: %q %v", got, err)
	}
}

// TestSlowReaderCutOff: a client that does not take its answer makes the
// handler's write fail at the write timeout.
func TestSlowReaderCutOff(t *testing.T) {
	writeErrs := make(chan error, 1)
	addr := startHTTP(t, config.HTTPLimits{WriteTimeout: 200 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		// 64 MiB: more than the socket buffers of both ends hold.
		for range 1024 {
			if _, err := w.Write(chunk); err != nil {
				writeErrs <- err
				return
			}
		}
		writeErrs <- nil
	}))
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: kiln\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing.
	select {
	case err := <-writeErrs:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("writing to a client that reads nothing: %v, want the write deadline", err)
		}
	case <-time.After(guard):
		t.Fatal("the server was still writing")
	}
}
