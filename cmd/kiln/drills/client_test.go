package drills

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/signing"
)

// client is the drills' HTTP client: bounded, so that a hang is a failure
// with a message rather than a test timeout.
var client = &http.Client{Timeout: 30 * time.Second}

// get fetches a URL and returns its status and body (0 on a transport error).
func get(url string) (int, string) {
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// api calls Kiln's HTTP API with a bearer token and decodes the answer
// into out (if not nil), failing the test on a status other than want.
func api(t testing.TB, method, url, token string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	doAPI(t, req, want, out)
}

func doAPI(t testing.TB, req *http.Request, want int, out any) {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", req.Method, req.URL.Path, res.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", req.Method, req.URL.Path, data, err)
		}
	}
}

// tenant is a customer with a server serving the fixture's tools.
type tenant struct {
	customer, account, server, mcpKey string
}

// pushLibrary uploads the fixture module as library module drill@version,
// signed with the deployment's key.
func (d *deployment) pushLibrary(t testing.TB, base, version string) {
	t.Helper()
	wasm := toolModule(t)
	sig, err := signing.Sign(d.libraryKey, wasm)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range [][2]string{{"name", "drill"}, {"version", version}, {"min_tier", "free"}} {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string][]byte{"module": wasm, "signature": sig.Marshal()} {
		w, err := mw.CreateFormFile(name, name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/admin/library", &buf)
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	doAPI(t, req, http.StatusCreated, nil)
}

// newTenant creates a customer on the pro plan (10 s calls), a server
// that records its calls' arguments, the given tools of the library module
// and a key for the server, through the node at base.
func (d *deployment) newTenant(t testing.TB, base string, tools ...string) tenant {
	t.Helper()
	var tn tenant
	var customer struct{ ID string }
	api(t, "POST", base+"/api/v1/admin/customers", d.token, map[string]string{"name": "drill", "tier": "pro"}, http.StatusCreated, &customer)
	tn.customer = customer.ID
	var key struct{ Key string }
	api(t, "POST", base+"/api/v1/admin/customers/"+tn.customer+"/keys", d.token, map[string]any{"name": "account"}, http.StatusCreated, &key)
	tn.account = key.Key
	var srv struct{ ID string }
	api(t, "POST", base+"/api/v1/servers", tn.account, map[string]any{"name": "drill", "record_payloads": true}, http.StatusCreated, &srv)
	tn.server = srv.ID
	for _, tool := range tools {
		tn.addTool(t, base, tool, tool)
	}
	api(t, "POST", base+"/api/v1/admin/customers/"+tn.customer+"/keys", d.token, map[string]any{"name": "mcp", "server_id": tn.server}, http.StatusCreated, &key)
	tn.mcpKey = key.Key
	return tn
}

// addTool deploys the module's tool as name, through the node at base.
func (tn tenant) addTool(t testing.TB, base, tool, name string) {
	t.Helper()
	api(t, "POST", base+"/api/v1/servers/"+tn.server+"/tools", tn.account,
		map[string]any{"library": map[string]string{"name": "drill"}, "tool": tool, "name": name}, http.StatusCreated, nil)
}

// callResult is one tools/call as the client saw it.
type callResult struct {
	Status  int    // HTTP status
	IsError bool   // a tool error (the call ran and failed)
	RPCErr  string // a JSON-RPC error
	Text    string // the text content
}

// ok says whether the call ran and succeeded.
func (r callResult) ok() bool { return r.Status == http.StatusOK && !r.IsError && r.RPCErr == "" }

// call makes one tools/call on the node (or proxy) at base.
func (tn tenant) call(ctx context.Context, c *http.Client, base, tool string, args any) (callResult, error) {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	if err != nil {
		return callResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/mcp/"+tn.server, bytes.NewReader(body))
	if err != nil {
		return callResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tn.mcpKey)
	res, err := c.Do(req)
	if err != nil {
		return callResult{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return callResult{Status: res.StatusCode}, fmt.Errorf("reading the answer: %w", err)
	}
	out := callResult{Status: res.StatusCode}
	if res.StatusCode != http.StatusOK {
		out.Text = string(data)
		return out, nil
	}
	msg := data
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		msg = nil
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				msg = []byte(rest)
			}
		}
	}
	var rpc struct {
		Result *struct {
			Content []struct{ Text string }
			IsError bool
		}
		Error *struct{ Message string }
	}
	if err := json.Unmarshal(msg, &rpc); err != nil {
		return out, fmt.Errorf("decoding the answer %q: %w", data, err)
	}
	switch {
	case rpc.Error != nil:
		out.RPCErr = rpc.Error.Message
	case rpc.Result != nil:
		out.IsError = rpc.Result.IsError
		for _, c := range rpc.Result.Content {
			out.Text += c.Text
		}
	default:
		return out, fmt.Errorf("an answer without result or error: %s", data)
	}
	return out, nil
}

// mustCall makes a call that must succeed.
func (tn tenant) mustCall(t testing.TB, base, tool string, args any) callResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := tn.call(ctx, client, base, tool, args)
	if err != nil || !res.ok() {
		t.Fatalf("%s on %s: %+v %v", tool, base, res, err)
	}
	return res
}
