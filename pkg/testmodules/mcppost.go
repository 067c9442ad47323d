package testmodules

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// PostMCP sends one raw JSON-RPC body to an MCP endpoint as a stateless
// Streamable HTTP client does, with key as the bearer (none when empty),
// and returns the status and the answer's body. Tests that check the wire
// itself (headers, ids, _meta) use it; others use an SDK client.
func PostMCP(t testing.TB, url, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}
