package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/web"
	"github.com/kilnhq/kiln/pkg/websession"
)

// client is a browser without JavaScript: cookies, no redirects followed.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	return c.send("GET", path, nil)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	return c.send("POST", path, form)
}

func (c *client) send(method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// form reads a form page and returns its fields with the CSRF token.
func (c *client) form(path string) url.Values {
	c.t.Helper()
	resp, body := c.get(path)
	m := csrfField.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		c.t.Fatalf("GET %s: %s, no form", path, resp.Status)
	}
	return url.Values{"csrf": {m[1]}}
}

func account(v url.Values, name, username, password string) url.Values {
	v.Set("name", name)
	v.Set("username", username)
	v.Set("password", password)
	return v
}

// TestFirstAccount: a fresh development node sends / to the first-account
// form, refuses bad forms with a message and the field at fault, creates
// the owner and signs it in, and offers the form never again.
func TestFirstAccount(t *testing.T) {
	node := servicetest.Start(t, servicetest.Options{})
	c := newClient(t, node.URL)
	if resp, _ := c.get("/"); resp.StatusCode != 303 || resp.Header.Get("Location") != "/setup" {
		t.Fatalf("fresh / = %s to %q, want /setup", resp.Status, resp.Header.Get("Location"))
	}
	resp, _ := c.get("/setup")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("CSP %q, frame options %q", csp, resp.Header.Get("X-Frame-Options"))
	}

	// Each rendering of the form has a token of its own: the form is read
	// right before each post.
	bad := []struct {
		name, username, password string
		status                   int
		says                     string
	}{
		{"Acme", "ada", "short", 422, "at least 12 characters"},
		{"", "ada", "correct horse battery", 422, "name"},
		{strings.Repeat("n", 101), "ada", "correct horse battery", 422, "at most 100"},
		{"Acme", "a d a", "correct horse battery", 422, "without spaces"},
		{"Acme", "ada", strings.Repeat("p", 1025), 422, "1024 bytes"},
	}
	for _, b := range bad {
		resp, body := c.post("/setup", account(c.form("/setup"), b.name, b.username, b.password))
		if resp.StatusCode != b.status || !strings.Contains(body, b.says) || !strings.Contains(body, `role="alert"`) {
			t.Errorf("POST /setup %+v: %s, want %d saying %q", b, resp.Status, b.status, b.says)
		}
	}
	c.form("/setup")
	if resp, body := c.post("/setup", account(url.Values{"csrf": {"forged"}}, "Acme", "ada", "correct horse battery")); resp.StatusCode != 403 || !strings.Contains(body, "expired") {
		t.Errorf("a forged form: %s", resp.Status)
	}
	resp, _ = c.post("/setup", account(c.form("/setup"), "Acme", "ada", "correct horse battery"))
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/servers" {
		t.Fatalf("creating the first account: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if resp, body := c.get("/servers"); resp.StatusCode != 200 || !strings.Contains(body, `name="kiln-csrf"`) || !strings.Contains(body, "ada") {
		t.Fatalf("/servers after sign-up: %s", resp.Status)
	}

	// The form is gone for everyone, and / offers the ways in.
	other := newClient(t, node.URL)
	if resp, _ := other.get("/setup"); resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Errorf("/setup after the first account: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if resp, body := other.get("/"); resp.StatusCode != 200 || !strings.Contains(body, "/oauth/login?next=%2fservers") && !strings.Contains(body, "/oauth/login?next=%2Fservers") {
		t.Errorf("/ after the first account: %s %s", resp.Status, body)
	}
}

// TestSignup: anyone may sign up on a development node; a taken username
// is refused with a message.
func TestSignup(t *testing.T) {
	node := servicetest.Start(t, servicetest.Options{})
	c := newClient(t, node.URL)
	if resp, _ := c.post("/signup", account(c.form("/signup"), "Acme", "ada", "correct horse battery")); resp.StatusCode != 303 {
		t.Fatalf("sign-up: %s", resp.Status)
	}
	again := newClient(t, node.URL)
	resp, body := again.post("/signup", account(again.form("/signup"), "Other", "ada", "another long password"))
	if resp.StatusCode != 409 || !strings.Contains(body, "taken") {
		t.Fatalf("a taken username: %s", resp.Status)
	}
	custs, err := node.Service.Store.ListCustomers(t.Context())
	if err != nil || len(custs) != 1 || custs[0].Tier != "free" {
		t.Fatalf("customers %+v %v: want one, on the free plan, and nothing left of the refused sign-up", custs, err)
	}
}

// TestRoutes: pages need a session (the sign-in page comes back to them),
// assets are served, and every other path is still the API's.
func TestRoutes(t *testing.T) {
	node := servicetest.Start(t, servicetest.Options{})
	c := newClient(t, node.URL)
	for _, p := range []string{"/servers", "/servers/srv_x", "/library", "/executions"} {
		resp, _ := c.get(p)
		if want := "/oauth/login?next=" + url.QueryEscape(p); resp.StatusCode != 303 || resp.Header.Get("Location") != want {
			t.Errorf("GET %s signed out: %s to %q, want %q", p, resp.Status, resp.Header.Get("Location"), want)
		}
	}
	// The operator page is public: the operator signs in to it by pasting the token.
	if resp, body := c.get("/operator"); resp.StatusCode != 200 || !strings.Contains(body, `data-page="operator"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET /operator signed out: %s, CSP %q", resp.Status, resp.Header.Get("Content-Security-Policy"))
	}
	resp, body := c.get("/static/js/app.js")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(body, "import(") {
		t.Errorf("app.js: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/static/", "/static/js/", "/static/nope.js"} {
		if resp, _ := c.get(p); resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	if resp, body := c.get("/nope"); resp.StatusCode != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("an unknown path: %s %s, want the API's JSON 404", resp.Status, body)
	}
	if resp, _ := c.get("/healthz"); resp.StatusCode != 200 {
		t.Errorf("/healthz: %s", resp.Status)
	}
	if resp, _ := c.send("POST", "/", nil); resp.StatusCode == 200 {
		t.Errorf("POST /: %s", resp.Status)
	}
}

// TestNoFirstRunInProduction: without FirstRun (production) a fresh
// instance offers no first-account form: the first visitor could be
// anyone. Sign-up is off too unless configured.
func TestNoFirstRunInProduction(t *testing.T) {
	st := storetest.SQLite(t)
	w, err := web.New(web.Config{Store: st, Sessions: websession.New(websession.Config{Store: st, Secure: true}), Logger: slog.New(slog.DiscardHandler), PublicURL: "https://kiln.example"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler(http.NotFoundHandler()))
	defer srv.Close()
	c := newClient(t, srv.URL)
	if resp, body := c.get("/"); resp.StatusCode != 200 || strings.Contains(body, "/signup") {
		t.Errorf("/ on a fresh production instance: %s, signup offered: %v", resp.Status, strings.Contains(body, "/signup"))
	}
	for _, p := range []string{"/setup", "/signup"} {
		if resp, _ := c.get(p); resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
			t.Errorf("GET %s: %s to %q", p, resp.Status, resp.Header.Get("Location"))
		}
	}
	if has, err := st.HasUsers(t.Context()); err != nil || has {
		t.Fatalf("HasUsers = %v, %v", has, err)
	}
}
