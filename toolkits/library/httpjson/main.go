// Command httpjson is a curated Kiln library module: it fetches JSON
// documents over HTTP through the host (egress-checked, with the API token
// substituted by the host, never seen by the module) and extracts values
// with a JSONPath subset.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kilnhq/kiln/toolkits/go/jsondoc"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// Limits of one call.
const (
	defaultMaxResults = 100
	maxResultsCap     = 1000
	// maxValueBytes bounds the JSON of the returned values. A result
	// carries them twice (structuredContent and a JSON text copy), so 80 KiB
	// of data stays under the smallest plan's 256 KiB result limit.
	maxValueBytes = 80 << 10
	maxDocBytes   = 4 << 20 // the host's default response cap
	maxHeaders    = 32
	maxHeaderLen  = 4096
	maxURLLen     = 8192
	tokenVar      = "API_TOKEN"
)

type match struct {
	Path  string          `json:"path" description:"Normalized path of the value, such as $['items'][0]['name']"`
	Value json.RawMessage `json:"value" description:"The selected JSON value"`
}

// selection is the outcome of evaluating a path.
type selection struct {
	Count     int
	Matches   []match
	Truncated bool
}

// ---- json_select ----

type selectIn struct {
	Document     json.RawMessage `json:"document,omitempty" description:"The JSON document (any JSON value). Give this or documentText."`
	DocumentText string          `json:"documentText,omitempty" description:"The JSON document as text, for JSON you hold as a string. Give this or document."`
	Path         string          `json:"path,omitempty" description:"JSONPath (RFC 9535 subset), such as $.items[*].name or $..book[?@.price < 10].title. Default $ (the whole document)."`
	MaxResults   int             `json:"maxResults,omitempty" description:"Most values to return (default 100, at most 1000)"`
}

type selectOut struct {
	Path      string  `json:"path" description:"The path that was evaluated"`
	Count     int     `json:"count" description:"Number of values the path selected (before truncation)"`
	Matches   []match `json:"matches" description:"Selected values in document order"`
	Truncated bool    `json:"truncated,omitempty" description:"True when maxResults or the size limit cut the list"`
}

func jsonSelect(_ context.Context, in selectIn) (selectOut, error) {
	var data []byte
	switch {
	case len(in.Document) > 0 && in.DocumentText != "":
		return selectOut{}, errors.New("give either document or documentText, not both")
	case len(in.Document) > 0:
		data = in.Document
	case in.DocumentText != "":
		data = []byte(in.DocumentText)
	default:
		return selectOut{}, errors.New("document (a JSON value) or documentText (JSON as a string) is required")
	}
	if len(data) > maxDocBytes {
		return selectOut{}, fmt.Errorf("the document is %d bytes; at most %d are accepted", len(data), maxDocBytes)
	}
	path := pathOrRoot(in.Path)
	q, err := parsePath(path)
	if err != nil {
		return selectOut{}, err
	}
	max, err := resultCap(in.MaxResults)
	if err != nil {
		return selectOut{}, err
	}
	doc, err := jsondoc.Decode(data)
	if err != nil {
		return selectOut{}, fmt.Errorf("the document is %v", err)
	}
	sel, err := evaluate(q, doc, max)
	if err != nil {
		return selectOut{}, err
	}
	return selectOut{Path: path, Count: sel.Count, Matches: sel.Matches, Truncated: sel.Truncated}, nil
}

func pathOrRoot(p string) string {
	if strings.TrimSpace(p) == "" {
		return "$"
	}
	return p
}

func resultCap(n int) (int, error) {
	switch {
	case n == 0:
		return defaultMaxResults, nil
	case n < 0 || n > maxResultsCap:
		return 0, fmt.Errorf("maxResults must be between 1 and %d", maxResultsCap)
	}
	return n, nil
}

// evaluate runs q and encodes up to max results within maxValueBytes.
func evaluate(q *query, doc any, max int) (selection, error) {
	nodes, err := selectNodes(q, doc)
	if err != nil {
		return selection{}, err
	}
	sel := selection{Count: len(nodes), Matches: []match{}}
	size := 0
	for i, n := range nodes {
		if i == max {
			sel.Truncated = true
			break
		}
		v := jsondoc.Append(nil, n.v)
		p := n.path()
		size += len(v) + len(p)
		if size > maxValueBytes {
			if i == 0 {
				return selection{}, fmt.Errorf("the value at %s is %d bytes of JSON, more than the %d KiB this tool returns; select a part of it with a narrower path (for example %s.someField or %s[0:10])",
					p, len(v), maxValueBytes>>10, pathHint(p), pathHint(p))
			}
			sel.Truncated = true
			break
		}
		sel.Matches = append(sel.Matches, match{Path: p, Value: v})
	}
	return sel, nil
}

func pathHint(p string) string {
	if utf8.RuneCountInString(p) > 60 {
		return "$…"
	}
	return p
}

// ---- fetch_json ----

type fetchIn struct {
	URL        string            `json:"url" description:"http or https URL of the JSON document. Its host must be allowed by the server's egress policy."`
	Path       string            `json:"path,omitempty" description:"JSONPath applied to the response (RFC 9535 subset), such as $.data[*].id. Default $ (the whole document)."`
	Query      map[string]string `json:"query,omitempty" description:"Query parameters to add to the URL; they are URL-encoded for you"`
	Headers    map[string]string `json:"headers,omitempty" description:"Extra request headers, such as {\"Accept-Language\": \"en\"}. Secrets cannot be referenced here: use auth."`
	Auth       string            `json:"auth,omitempty" enum:"none,bearer,header,query" description:"How to send the server's API_TOKEN secret: none (default), bearer (Authorization: Bearer <token>), header (the raw token in authHeader) or query (the token as the authParam query parameter). The host inserts the token; this tool never sees it."`
	AuthHeader string            `json:"authHeader,omitempty" description:"Header that carries API_TOKEN when auth is header (default X-API-Key)"`
	AuthParam  string            `json:"authParam,omitempty" description:"Query parameter that carries API_TOKEN when auth is query (default key)"`
	MaxResults int               `json:"maxResults,omitempty" description:"Most values to return (default 100, at most 1000)"`
}

type fetchOut struct {
	URL         string  `json:"url" description:"The URL requested, with the query parameters added"`
	Status      int     `json:"status" description:"HTTP status code"`
	ContentType string  `json:"contentType,omitempty" description:"Content-Type of the response"`
	Path        string  `json:"path" description:"The path that was evaluated"`
	Count       int     `json:"count" description:"Number of values the path selected (before truncation)"`
	Matches     []match `json:"matches" description:"Selected values in document order"`
	Truncated   bool    `json:"truncated,omitempty" description:"True when maxResults or the size limit cut the list"`
}

// fetcher makes one HTTP request; kiln.Fetch in production, a fake in tests.
type fetcher func(context.Context, kiln.HTTPRequest) (*kiln.HTTPResponse, error)

// refusedHeaders are managed by the host or would confuse the request.
var refusedHeaders = map[string]string{
	"host":              "the host is taken from the URL",
	"content-length":    "the host sets it",
	"transfer-encoding": "the host sets it",
	"connection":        "the host manages connections",
	"accept-encoding":   "the host negotiates compression",
	"cookie":            "cookies are not supported",
}

func fetchJSON(fetch fetcher) func(context.Context, fetchIn) (fetchOut, error) {
	return func(ctx context.Context, in fetchIn) (fetchOut, error) {
		req, err := buildRequest(in)
		if err != nil {
			return fetchOut{}, err
		}
		path := pathOrRoot(in.Path)
		q, err := parsePath(path)
		if err != nil {
			return fetchOut{}, err
		}
		max, err := resultCap(in.MaxResults)
		if err != nil {
			return fetchOut{}, err
		}
		resp, err := fetch(ctx, req)
		if err != nil {
			return fetchOut{}, fmt.Errorf("GET %s failed: %w", req.URL, err)
		}
		out := fetchOut{URL: req.URL, Status: resp.Status, ContentType: headerValue(resp.Header, "Content-Type"), Path: path}
		doc, err := parseResponse(req.URL, resp, out.ContentType)
		if err != nil {
			return fetchOut{}, err
		}
		sel, err := evaluate(q, doc, max)
		if err != nil {
			return fetchOut{}, err
		}
		out.Count, out.Matches, out.Truncated = sel.Count, sel.Matches, sel.Truncated
		return out, nil
	}
}

// buildRequest validates the arguments and assembles the GET request.
func buildRequest(in fetchIn) (kiln.HTTPRequest, error) {
	if len(in.URL) > maxURLLen {
		return kiln.HTTPRequest{}, fmt.Errorf("the URL is longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(strings.TrimSpace(in.URL))
	if err != nil {
		return kiln.HTTPRequest{}, fmt.Errorf("url: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return kiln.HTTPRequest{}, fmt.Errorf("url %q: only http and https URLs are supported", in.URL)
	case u.Host == "":
		return kiln.HTTPRequest{}, fmt.Errorf("url %q has no host", in.URL)
	case u.User != nil:
		return kiln.HTTPRequest{}, errors.New("url: user names and passwords in URLs are not supported; use auth with the API_TOKEN secret")
	case strings.Contains(in.URL, "{{"):
		return kiln.HTTPRequest{}, errors.New("url: write no {{...}} templates in the URL; use auth (bearer, header or query) to send the API_TOKEN secret")
	}
	u.Fragment = ""
	if len(in.Query) > 0 {
		qv := u.Query()
		for _, k := range sortedKeys(in.Query) {
			if k == "" {
				return kiln.HTTPRequest{}, errors.New("query: parameter names may not be empty")
			}
			if strings.Contains(in.Query[k], "{{secret.") {
				return kiln.HTTPRequest{}, errors.New("query: secrets can only be sent with auth; use auth: query to send the API_TOKEN secret as a query parameter")
			}
			qv.Set(k, in.Query[k])
		}
		u.RawQuery = qv.Encode()
	}
	header := map[string][]string{}
	if len(in.Headers) > maxHeaders {
		return kiln.HTTPRequest{}, fmt.Errorf("headers: %d given, at most %d are accepted", len(in.Headers), maxHeaders)
	}
	for _, k := range sortedKeys(in.Headers) {
		v := in.Headers[k]
		if !validHeaderName(k) {
			return kiln.HTTPRequest{}, fmt.Errorf("headers: %q is not a valid header name", k)
		}
		if why, refused := refusedHeaders[strings.ToLower(k)]; refused {
			return kiln.HTTPRequest{}, fmt.Errorf("headers: %s cannot be set: %s", k, why)
		}
		if len(v) > maxHeaderLen || strings.ContainsAny(v, "\r\n\x00") {
			return kiln.HTTPRequest{}, fmt.Errorf("headers: the value of %s must be one line of at most %d bytes", k, maxHeaderLen)
		}
		if strings.Contains(v, "{{secret.") {
			return kiln.HTTPRequest{}, fmt.Errorf("headers: %s references a secret; secrets can only be sent with auth (bearer or header), which uses API_TOKEN", k)
		}
		header[canonicalHeader(k)] = []string{v}
	}
	if in.AuthParam != "" && in.Auth != "query" {
		return kiln.HTTPRequest{}, errors.New("authParam is only used with auth: query")
	}
	switch in.Auth {
	case "", "none":
		if in.AuthHeader != "" {
			return kiln.HTTPRequest{}, errors.New("authHeader is only used with auth: header")
		}
	case "query":
		if in.AuthHeader != "" {
			return kiln.HTTPRequest{}, errors.New("authHeader is only used with auth: header")
		}
		param := in.AuthParam
		if param == "" {
			param = "key"
		}
		if u.Query().Has(param) {
			return kiln.HTTPRequest{}, fmt.Errorf("query: %s is also set by auth; remove it from the URL and query", param)
		}
		// The template goes in as is: the host substitutes the token,
		// query-escaped, after the egress checks.
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += url.QueryEscape(param) + "=" + kiln.Secret(tokenVar)
	case "bearer", "header":
		name := "Authorization"
		value := "Bearer " + kiln.Secret(tokenVar)
		if in.Auth == "header" {
			name, value = "X-API-Key", kiln.Secret(tokenVar)
			if in.AuthHeader != "" {
				name = in.AuthHeader
			}
		} else if in.AuthHeader != "" {
			return kiln.HTTPRequest{}, errors.New("authHeader is only used with auth: header (bearer always uses Authorization)")
		}
		if !validHeaderName(name) {
			return kiln.HTTPRequest{}, fmt.Errorf("authHeader: %q is not a valid header name", name)
		}
		if _, refused := refusedHeaders[strings.ToLower(name)]; refused {
			return kiln.HTTPRequest{}, fmt.Errorf("authHeader: %s cannot carry the token", name)
		}
		name = canonicalHeader(name)
		if _, dup := header[name]; dup {
			return kiln.HTTPRequest{}, fmt.Errorf("headers: %s is also set by auth; remove it from headers", name)
		}
		header[name] = []string{value}
	default:
		return kiln.HTTPRequest{}, fmt.Errorf("auth %q: use none, bearer, header or query", in.Auth)
	}
	if _, ok := header["Accept"]; !ok {
		header["Accept"] = []string{"application/json"}
	}
	return kiln.HTTPRequest{Method: "GET", URL: u.String(), Header: header}, nil
}

// parseResponse checks the status and decodes the body.
func parseResponse(u string, resp *kiln.HTTPResponse, contentType string) (any, error) {
	if resp.Status < 200 || resp.Status > 299 {
		return nil, fmt.Errorf("GET %s answered %d%s", u, resp.Status, bodySnippet(resp.Body))
	}
	if len(resp.Body) == 0 {
		return nil, fmt.Errorf("GET %s answered %d with an empty body, not JSON", u, resp.Status)
	}
	if len(resp.Body) > maxDocBytes {
		return nil, fmt.Errorf("GET %s returned %d bytes; at most %d are accepted", u, len(resp.Body), maxDocBytes)
	}
	doc, err := jsondoc.Decode(resp.Body)
	if err != nil {
		kind := ""
		if mt := mediaType(contentType); mt != "" && !strings.Contains(mt, "json") {
			kind = fmt.Sprintf(" (Content-Type %s)", mt)
		}
		return nil, fmt.Errorf("GET %s: the response%s is %v%s", u, kind, err, bodySnippet(resp.Body))
	}
	return doc, nil
}

// bodySnippet quotes the start of a body for error messages.
func bodySnippet(body []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body[:min(len(body), 400)]), "?"))
	if s == "" {
		return ""
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	} else if len(body) > 400 {
		s += "…"
	}
	return ": " + strings.Join(strings.Fields(s), " ")
}

// mediaType is the lower-case type/subtype of a Content-Type value.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func headerValue(h map[string][]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// canonicalHeader is textproto's canonical form (content-type →
// Content-Type) without importing net/textproto.
func canonicalHeader(s string) string {
	b := []byte(strings.ToLower(s))
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		upper = c == '-'
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{
			kiln.NewTool("fetch_json",
				"Fetches a JSON document with HTTP GET and returns the values a JSONPath selects. "+
					"Can send the server's API_TOKEN secret as a bearer token or header (the host inserts it).",
				fetchJSON(kiln.Fetch)),
			kiln.NewTool("json_select",
				"Selects values from a JSON document with a JSONPath such as $.items[*].name or $..book[?@.price < 10].title",
				jsonSelect),
		},
		Env: []kiln.EnvVar{{
			Name:        tokenVar,
			Description: "API token sent by fetch_json when auth is bearer or header. Bind it to the API's host; the module never sees its value.",
			Secret:      true,
		}},
		// No egress hosts of its own: a generic fetcher has none to
		// declare, and the manifest accepts no catch-all pattern. The
		// server's egress policy, set by the operator, names the hosts.
	})
}
