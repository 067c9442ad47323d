package auth_test

import (
	"fmt"
	"testing"

	"github.com/kilnhq/kiln/pkg/auth"
)

func ExampleResourceURL() {
	u := auth.ResourceURL("https://kiln.example.com", "srv_abc234")
	id, ok := auth.ServerIDOf("https://kiln.example.com", u)
	fmt.Println(u, id, ok)
	// Output: https://kiln.example.com/mcp/srv_abc234 srv_abc234 true
}

func TestServerIDOf(t *testing.T) {
	const public = "https://kiln.example.com"
	for _, resource := range []string{
		"https://kiln.example.com/mcp/",
		"https://kiln.example.com/mcp/srv_ABC",           // upper case is not base32 as Kiln writes it
		"https://kiln.example.com/mcp/srv_abc/extra",     // a path below the server
		"https://kiln.example.com/mcp/srv_abc?x=1",       // a query
		"https://other.example.com/mcp/srv_abc",          // another issuer
		"https://kiln.example.com.evil.test/mcp/srv_abc", // a prefix of a host, not the host
		"https://kiln.example.com/mcp/srv_" + string(make([]byte, 65)),
	} {
		if id, ok := auth.ServerIDOf(public, resource); ok {
			t.Errorf("ServerIDOf(%q) = %q, want no server", resource, id)
		}
	}
}

// TestValidServerID: "srv_" and 1 to 64 lower-case base32 characters,
// nothing around them.
func TestValidServerID(t *testing.T) {
	b32 := "abcdefghijklmnopqrstuvwxyz234567"
	for _, id := range []string{"srv_a", "srv_" + b32, "srv_" + b32 + b32} {
		if !auth.ValidServerID(id) {
			t.Errorf("%q refused", id)
		}
	}
	for _, id := range []string{"", "srv_", "srv_" + b32 + b32 + "a", "SRV_abc", "srv_Abc", "srv_ab1", "srv_ab8",
		"srv_ab-", "srv_ab\n", " srv_ab", "srv_ab ", "srv_é", "xsrv_ab", "srv_ab/c", "key_ab"} {
		if auth.ValidServerID(id) {
			t.Errorf("%q accepted", id)
		}
	}
}
