package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tetratelabs/wazero/api"

	"github.com/kilnhq/kiln/sandbox/egress"
)

// Network is a call's access to the network through kiln.http_request.
// Without it, every request fails with an error the tool can report.
type Network struct {
	// Policy is the server's egress policy. When Policy.Allow is empty, the
	// module's declared egress hosts (its manifest) are the allow list.
	Policy egress.Policy
	// Secrets are substituted into requests by the host, for their hosts only.
	Secrets []egress.Secret
	// Options tune the client (tests: a resolver, root CAs).
	Options []egress.Option
}

// httpRequestDoc is the JSON a module hands kiln.http_request (ABI 5.3).
type httpRequestDoc struct {
	Method string              `json:"method"`
	URL    string              `json:"url"`
	Header map[string][]string `json:"header"`
	Body   []byte              `json:"body"`
}

// httpResponseDoc is the JSON kiln.http_response hands back.
type httpResponseDoc struct {
	Status int                 `json:"status,omitempty"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
	URL    string              `json:"url,omitempty"`
	Error  string              `json:"error,omitempty"`
}

// maxHTTPRequestDoc caps the request document a module may hand over; the
// policy's own caps apply to the body inside it.
const maxHTTPRequestDoc = 4 << 20

// hostHTTPRequest is kiln.http_request(ptr, len) -> i32: makes the request
// and returns the length of the response document, which the module then
// copies with kiln.http_response.
func hostHTTPRequest(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if s.pendingHTTP != nil {
		panic(&hostError{"kiln.http_request: the previous response was not read with kiln.http_response"})
	}
	if n > maxHTTPRequestDoc {
		panic(&hostError{fmt.Sprintf("kiln.http_request: request document of %d bytes exceeds %d", n, maxHTTPRequestDoc)})
	}
	out := s.exchange(ctx, readGuest(mod, "http_request", ptr, n)) // record.go
	s.pendingHTTP = out
	stack[0] = api.EncodeU32(uint32(len(out)))
}

// hostHTTPResponse is kiln.http_response(ptr): copies the pending response
// document into the module's memory.
func hostHTTPResponse(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	ptr := api.DecodeU32(stack[0])
	if s.pendingHTTP == nil {
		panic(&hostError{"kiln.http_response: no response is pending"})
	}
	if !mod.Memory().Write(ptr, s.pendingHTTP) {
		panic(&hostError{fmt.Sprintf("kiln.http_response: range [%d, %d) is outside memory", ptr, uint64(ptr)+uint64(len(s.pendingHTTP)))})
	}
	s.pendingHTTP = nil
}

// errNoNetwork answers the requests of a call without a Network.
const errNoNetwork = "this server has no network access"

// fetch runs one request through the call's egress client. Every failure
// becomes an error document: the module reports it, the call goes on.
func (s *callState) fetch(ctx context.Context, raw []byte) httpResponseDoc {
	if s.http == nil {
		return httpResponseDoc{Error: errNoNetwork}
	}
	var req httpRequestDoc
	if err := json.Unmarshal(raw, &req); err != nil {
		return httpResponseDoc{Error: "the request document is not valid: " + err.Error()}
	}
	var doc httpResponseDoc
	resp, err := s.http.Do(ctx, egress.Request{Method: req.Method, URL: req.URL, Header: http.Header(req.Header), Body: req.Body})
	if err != nil {
		doc = httpResponseDoc{Error: err.Error()} // egress errors never contain secret values
	} else {
		doc = httpResponseDoc{Status: resp.Status, Header: resp.Header, Body: resp.Body, URL: resp.URL}
	}
	s.logHTTP(req, doc)
	return doc
}

// logHTTP writes the call's log line for an HTTP exchange. %q: the method
// and URL are the tool's text, which may hold newlines.
func (s *callState) logHTTP(req httpRequestDoc, doc httpResponseDoc) {
	if doc.Error != "" {
		s.logs.log(2, []byte(fmt.Sprintf("http %q %q: %v", req.Method, req.URL, doc.Error)))
		return
	}
	s.logs.log(1, []byte(fmt.Sprintf("http %q %q: %d (%d bytes)", req.Method, req.URL, doc.Status, len(doc.Body))))
}

// newHTTPClient builds the call's egress client, or nil without a Network.
func newHTTPClient(n *Network, declared []string) (*egress.Client, error) {
	if n == nil {
		return nil, nil
	}
	policy := n.Policy
	if len(policy.Allow) == 0 {
		rules, err := egress.ParseRules(declared)
		if err != nil {
			return nil, &RequestError{Reason: "the module's egress hosts: " + err.Error()}
		}
		policy.Allow = rules
	}
	c, err := egress.NewClient(policy, n.Secrets, n.Options...)
	if err != nil {
		return nil, &RequestError{Reason: "network policy: " + err.Error()}
	}
	return c, nil
}
