package web

import (
	"net/http/httptest"
	"testing"
)

// TestFromLoopback: only a TCP peer on this machine makes the first
// account of a development instance its operator.
func TestFromLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5555": true, "[::1]:5555": true, "[::ffff:127.0.0.1]:1": true,
		"10.1.2.3:5555": false, "[2001:db8::1]:443": false, "192.168.0.10:80": false,
		"garbage": false, "": false,
	} {
		r := httptest.NewRequest("POST", "/setup", nil)
		r.RemoteAddr = addr
		r.Header.Set("X-Forwarded-For", "127.0.0.1") // never trusted for this
		if got := fromLoopback(r); got != want {
			t.Errorf("fromLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
