package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

var ctx = context.Background()

func values(ms []match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Value))
	}
	return out
}

func TestJSONSelect(t *testing.T) {
	out, err := jsonSelect(ctx, selectIn{Document: json.RawMessage(storeDoc), Path: "$..book[?@.price < 10].title"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 2 || out.Truncated || strings.Join(values(out.Matches), ",") != `"Sayings of the Century","Moby Dick"` {
		t.Fatalf("got %+v", out)
	}
	if out.Matches[1].Path != "$['store']['book'][2]['title']" {
		t.Fatalf("path %s", out.Matches[1].Path)
	}

	// documentText and the default path.
	out, err = jsonSelect(ctx, selectIn{DocumentText: `{"b":1,"a":[1,2]}`})
	if err != nil {
		t.Fatal(err)
	}
	if out.Path != "$" || out.Count != 1 || string(out.Matches[0].Value) != `{"b":1,"a":[1,2]}` {
		t.Fatalf("got %+v", out)
	}

	// A JSON null document is a document.
	out, err = jsonSelect(ctx, selectIn{Document: json.RawMessage("null")})
	if err != nil || out.Count != 1 || string(out.Matches[0].Value) != "null" {
		t.Fatalf("got %+v, %v", out, err)
	}

	// No match is a result, not an error.
	out, err = jsonSelect(ctx, selectIn{Document: json.RawMessage(`{}`), Path: "$.x"})
	if err != nil || out.Count != 0 || out.Matches == nil || len(out.Matches) != 0 {
		t.Fatalf("got %+v, %v", out, err)
	}
	b, _ := json.Marshal(out)
	if !strings.Contains(string(b), `"matches":[]`) {
		t.Fatalf("empty matches encode as %s", b)
	}
}

func TestJSONSelectErrors(t *testing.T) {
	cases := []struct {
		in   selectIn
		want string
	}{
		{selectIn{}, "is required"},
		{selectIn{Document: json.RawMessage(`1`), DocumentText: "1"}, "not both"},
		{selectIn{DocumentText: `{"a":`}, "not valid JSON"},
		{selectIn{DocumentText: `{} []`}, "after the document"},
		{selectIn{DocumentText: `{}`, Path: "a.b"}, "character 1"},
		{selectIn{DocumentText: `{}`, MaxResults: -1}, "maxResults"},
		{selectIn{DocumentText: `{}`, MaxResults: 1001}, "maxResults"},
		{selectIn{DocumentText: strings.Repeat(" ", maxDocBytes+1)}, "at most"},
	}
	for _, c := range cases {
		_, err := jsonSelect(ctx, c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.in.Path, err, c.want)
		}
	}
}

func TestJSONSelectTruncation(t *testing.T) {
	arr := make([]int, 300)
	doc, _ := json.Marshal(arr)
	out, err := jsonSelect(ctx, selectIn{Document: doc, Path: "$[*]"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 300 || len(out.Matches) != defaultMaxResults || !out.Truncated {
		t.Fatalf("count %d, matches %d, truncated %v", out.Count, len(out.Matches), out.Truncated)
	}
	out, _ = jsonSelect(ctx, selectIn{Document: doc, Path: "$[*]", MaxResults: 1000})
	if len(out.Matches) != 300 || out.Truncated {
		t.Fatalf("matches %d, truncated %v", len(out.Matches), out.Truncated)
	}

	// The size cap: values of 30 KiB each, so only two fit in 80 KiB.
	big := strings.Repeat("x", 30<<10)
	doc, _ = json.Marshal([]string{big, big, big, big})
	out, err = jsonSelect(ctx, selectIn{Document: doc, Path: "$[*]"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 4 || len(out.Matches) != 2 || !out.Truncated {
		t.Fatalf("count %d, matches %d, truncated %v", out.Count, len(out.Matches), out.Truncated)
	}
	// A single value over the cap is an error that suggests a narrower path.
	_, err = jsonSelect(ctx, selectIn{Document: doc})
	if err == nil || !strings.Contains(err.Error(), "narrower path") {
		t.Fatalf("got %v", err)
	}
	doc, _ = json.Marshal([]string{strings.Repeat("y", maxValueBytes)})
	_, err = jsonSelect(ctx, selectIn{Document: doc, Path: "$[0]"})
	if err == nil || !strings.Contains(err.Error(), "narrower path") {
		t.Fatalf("got %v", err)
	}
}

// fakeFetch records the request and answers with resp or err.
type fakeFetch struct {
	got  kiln.HTTPRequest
	n    int
	resp *kiln.HTTPResponse
	err  error
}

func (f *fakeFetch) fetch(_ context.Context, req kiln.HTTPRequest) (*kiln.HTTPResponse, error) {
	f.got = req
	f.n++
	return f.resp, f.err
}

func jsonResponse(body string) *kiln.HTTPResponse {
	return &kiln.HTTPResponse{Status: 200, Header: map[string][]string{"Content-Type": {"application/json; charset=utf-8"}}, Body: []byte(body)}
}

func TestFetchJSON(t *testing.T) {
	f := &fakeFetch{resp: jsonResponse(`{"data":[{"id":7,"name":"a"},{"id":9,"name":"b"}]}`)}
	out, err := fetchJSON(f.fetch)(ctx, fetchIn{
		URL:     "https://api.example.com/v1/items?sort=asc#frag",
		Path:    "$.data[*].id",
		Query:   map[string]string{"q": "a b&c", "limit": "2"},
		Headers: map[string]string{"accept-language": "en", "X-Trace": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.got.Method != "GET" || f.got.URL != "https://api.example.com/v1/items?limit=2&q=a+b%26c&sort=asc" {
		t.Fatalf("request %s %s", f.got.Method, f.got.URL)
	}
	wantHeader := map[string][]string{"Accept": {"application/json"}, "Accept-Language": {"en"}, "X-Trace": {"1"}}
	if !reflect.DeepEqual(f.got.Header, wantHeader) {
		t.Fatalf("header %v", f.got.Header)
	}
	if out.Status != 200 || out.ContentType != "application/json; charset=utf-8" || out.URL != f.got.URL || out.Path != "$.data[*].id" {
		t.Fatalf("got %+v", out)
	}
	if strings.Join(values(out.Matches), ",") != "7,9" || out.Count != 2 {
		t.Fatalf("got %+v", out.Matches)
	}
}

func TestFetchJSONAuth(t *testing.T) {
	cases := []struct {
		in         fetchIn
		name, want string
	}{
		{fetchIn{Auth: "bearer"}, "Authorization", "Bearer {{secret.API_TOKEN}}"},
		{fetchIn{Auth: "header"}, "X-Api-Key", "{{secret.API_TOKEN}}"},
		{fetchIn{Auth: "header", AuthHeader: "private-token"}, "Private-Token", "{{secret.API_TOKEN}}"},
	}
	for _, c := range cases {
		f := &fakeFetch{resp: jsonResponse(`{}`)}
		c.in.URL = "https://api.example.com/"
		if _, err := fetchJSON(f.fetch)(ctx, c.in); err != nil {
			t.Fatalf("%+v: %v", c.in, err)
		}
		if got := f.got.Header[c.name]; len(got) != 1 || got[0] != c.want {
			t.Errorf("%+v: header %v", c.in, f.got.Header)
		}
		if c.want != kiln.Secret("API_TOKEN") && !strings.HasSuffix(c.want, kiln.Secret("API_TOKEN")) {
			t.Errorf("placeholder drifted from kiln.Secret: %s", c.want)
		}
	}
	// auth: query puts the placeholder, unescaped, into the query: the host
	// substitutes it.
	for param, want := range map[string]string{"": "?q=1&key={{secret.API_TOKEN}}", "appid": "?q=1&appid={{secret.API_TOKEN}}"} {
		f := &fakeFetch{resp: jsonResponse(`{}`)}
		if _, err := fetchJSON(f.fetch)(ctx, fetchIn{URL: "https://api.example.com/w", Query: map[string]string{"q": "1"}, Auth: "query", AuthParam: param}); err != nil {
			t.Fatal(err)
		}
		if f.got.URL != "https://api.example.com/w"+want {
			t.Errorf("authParam %q: URL %s", param, f.got.URL)
		}
	}
	// An explicit Accept header is kept.
	f := &fakeFetch{resp: jsonResponse(`{}`)}
	fetchJSON(f.fetch)(ctx, fetchIn{URL: "http://x.example/", Headers: map[string]string{"ACCEPT": "application/vnd.api+json"}})
	if got := f.got.Header["Accept"]; len(got) != 1 || got[0] != "application/vnd.api+json" {
		t.Fatalf("Accept %v", f.got.Header)
	}
}

func TestFetchJSONRefusals(t *testing.T) {
	cases := []struct {
		in   fetchIn
		want string
	}{
		{fetchIn{URL: "ftp://example.com/x"}, "only http and https"},
		{fetchIn{URL: "example.com/x"}, "only http and https"},
		{fetchIn{URL: "https:///x"}, "no host"},
		{fetchIn{URL: "https://user:pw@example.com/"}, "passwords in URLs"},
		{fetchIn{URL: "https://example.com/{{secret.API_TOKEN}}"}, "no {{...}} templates in the URL"},
		{fetchIn{URL: "https://example.com/", Query: map[string]string{"key": "{{secret.API_TOKEN}}"}}, "use auth: query"},
		{fetchIn{URL: "https://example.com/?key=1", Auth: "query"}, "key is also set by auth"},
		{fetchIn{URL: "https://example.com/", AuthParam: "k"}, "only used with auth: query"},
		{fetchIn{URL: "https://example.com/", Auth: "query", AuthHeader: "X"}, "only used with auth: header"},
		{fetchIn{URL: "https://example.com/", Query: map[string]string{"": "x"}}, "may not be empty"},
		{fetchIn{URL: "https://example.com/%zz"}, "url:"},
		{fetchIn{URL: "https://example.com/" + strings.Repeat("a", maxURLLen)}, "longer than"},
		{fetchIn{URL: "https://example.com/", Headers: map[string]string{"X-Key": "{{secret.OTHER}}"}}, "references a secret"},
		{fetchIn{URL: "https://example.com/", Headers: map[string]string{"Host": "evil"}}, "Host cannot be set"},
		{fetchIn{URL: "https://example.com/", Headers: map[string]string{"cookie": "a=b"}}, "cookie cannot be set"},
		{fetchIn{URL: "https://example.com/", Headers: map[string]string{"Bad Name": "x"}}, "not a valid header name"},
		{fetchIn{URL: "https://example.com/", Headers: map[string]string{"X-A": "a\r\nInjected: 1"}}, "one line"},
		{fetchIn{URL: "https://example.com/", Headers: map[string]string{"X-A": strings.Repeat("a", maxHeaderLen+1)}}, "one line"},
		{fetchIn{URL: "https://example.com/", Auth: "bearer", Headers: map[string]string{"authorization": "Basic x"}}, "also set by auth"},
		{fetchIn{URL: "https://example.com/", Auth: "bearer", AuthHeader: "X-Key"}, "only used with auth: header"},
		{fetchIn{URL: "https://example.com/", AuthHeader: "X-Key"}, "only used with auth: header"},
		{fetchIn{URL: "https://example.com/", Auth: "header", AuthHeader: "bad header"}, "not a valid header name"},
		{fetchIn{URL: "https://example.com/", Auth: "header", AuthHeader: "Host"}, "cannot carry the token"},
		{fetchIn{URL: "https://example.com/", Auth: "basic"}, "use none, bearer, header or query"},
		{fetchIn{URL: "https://example.com/", Path: "$.a["}, "invalid JSONPath"},
		{fetchIn{URL: "https://example.com/", MaxResults: 5000}, "maxResults"},
	}
	many := map[string]string{}
	for i := range maxHeaders + 1 {
		many["X-H"+strings.Repeat("a", i)] = "1"
	}
	cases = append(cases, struct {
		in   fetchIn
		want string
	}{fetchIn{URL: "https://example.com/", Headers: many}, "at most 32"})
	for _, c := range cases {
		f := &fakeFetch{resp: jsonResponse(`{}`)}
		_, err := fetchJSON(f.fetch)(ctx, c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.in, err, c.want)
		}
		if f.n != 0 {
			t.Errorf("%+v: a refused request was sent", c.in)
		}
	}
}

func TestFetchJSONResponses(t *testing.T) {
	html := &kiln.HTTPResponse{Status: 200, Header: map[string][]string{"content-type": {"text/html"}}, Body: []byte("<html>\n<body>Hello</body></html>")}
	cases := []struct {
		resp *kiln.HTTPResponse
		err  error
		want string
	}{
		{&kiln.HTTPResponse{Status: 404, Body: []byte(`{"message":"Not Found"}`)}, nil, `answered 404: {"message":"Not Found"}`},
		{&kiln.HTTPResponse{Status: 500}, nil, "answered 500"},
		{&kiln.HTTPResponse{Status: 301, Header: map[string][]string{"Location": {"x"}}}, nil, "answered 301"},
		{&kiln.HTTPResponse{Status: 204}, nil, "empty body"},
		{html, nil, "(Content-Type text/html) is not valid JSON"},
		{html, nil, ": <html> <body>Hello</body></html>"},
		{&kiln.HTTPResponse{Status: 503, Body: []byte(strings.Repeat("é", 500))}, nil, "…"},
		{nil, &kiln.HTTPError{Message: "example.com is not an allowed host"}, "GET https://example.com/a failed: http: example.com is not an allowed host"},
	}
	for _, c := range cases {
		f := &fakeFetch{resp: c.resp, err: c.err}
		_, err := fetchJSON(f.fetch)(ctx, fetchIn{URL: "https://example.com/a"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	// The HTTPError stays inspectable.
	f := &fakeFetch{err: &kiln.HTTPError{Message: "refused"}}
	_, err := fetchJSON(f.fetch)(ctx, fetchIn{URL: "https://example.com/a"})
	var he *kiln.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("got %T", err)
	}
}

// Natively there is no host: kiln.Fetch answers with an error, which the
// tool reports rather than crashing.
func TestFetchJSONWithoutHost(t *testing.T) {
	_, err := fetchJSON(kiln.Fetch)(ctx, fetchIn{URL: "https://example.com/"})
	if err == nil || !strings.Contains(err.Error(), "Kiln host") {
		t.Fatalf("got %v", err)
	}
}

func TestHelpers(t *testing.T) {
	for in, want := range map[string]string{"content-type": "Content-Type", "X-API-KEY": "X-Api-Key", "etag": "Etag", "a--b": "A--B"} {
		if got := canonicalHeader(in); got != want {
			t.Errorf("canonicalHeader(%q) = %q, want %q", in, got, want)
		}
	}
	if mediaType(" Application/JSON ; charset=utf-8") != "application/json" {
		t.Error("mediaType")
	}
	if headerValue(map[string][]string{"content-type": {"a"}}, "Content-Type") != "a" || headerValue(nil, "X") != "" {
		t.Error("headerValue")
	}
	if bodySnippet(nil) != "" || bodySnippet([]byte("a\n\n b")) != ": a b" || bodySnippet([]byte("\xff")) != ": ?" {
		t.Errorf("bodySnippet %q", bodySnippet([]byte("a\n\n b")))
	}
}
