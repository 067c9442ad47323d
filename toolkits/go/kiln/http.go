package kiln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// HTTPRequest is a request the host makes on the tool's behalf. The host
// checks the destination against the module's declared egress hosts and the
// server's policy, and refuses private and internal addresses.
type HTTPRequest struct {
	Method string              `json:"method"`
	URL    string              `json:"url"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"` // base64 in the ABI's JSON
}

// HTTPResponse is what came back.
type HTTPResponse struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
}

// HTTPError is a request the host refused or could not complete: a
// destination outside the policy, a secret not bound to the host, a cap
// reached, a network failure. Its message is safe to show.
type HTTPError struct{ Message string }

func (e *HTTPError) Error() string { return "http: " + e.Message }

// Secret returns the placeholder for a secret in a URL query, a header value
// or a body.
// The host substitutes the value after the destination passes the egress
// check, and only for hosts the secret is bound to: the value never enters
// the module.
//
//	req.Header = map[string][]string{"Authorization": {"Bearer " + kiln.Secret("API_TOKEN")}}
func Secret(name string) string { return "{{secret." + name + "}}" }

// Fetch makes one HTTP request through the host.
func Fetch(ctx context.Context, req HTTPRequest) (*HTTPResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("http: encoding request: %w", err)
	}
	data := defaultHost().httpRequest(payload)
	var out struct {
		HTTPResponse
		Error string `json:"error"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("http: decoding the host's response: %w", err)
	}
	if out.Error != "" {
		return nil, &HTTPError{Message: out.Error}
	}
	return &out.HTTPResponse, nil
}

// GetJSON fetches url and decodes a JSON response into v. Statuses other
// than 2xx are errors that quote the start of the body.
func GetJSON(ctx context.Context, url string, header map[string][]string, v any) error {
	resp, err := Fetch(ctx, HTTPRequest{Method: "GET", URL: url, Header: header})
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		body := string(resp.Body)
		if len(body) > 200 {
			body = body[:200] + "..."
		}
		return fmt.Errorf("http: %s answered %d: %s", url, resp.Status, strings.TrimSpace(body))
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return errors.New("http: the response is not the JSON expected: " + err.Error())
	}
	return nil
}
