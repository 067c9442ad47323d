package api_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/api"
)

// TestOpenAPICoversEveryRoute: every registered Echo route is an operation
// of the document, and every operation of the document is a route.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	c := loadContract(t)
	if c.doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", c.doc.OpenAPI)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	routes := map[string]bool{}
	for _, r := range h.routes.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		routes[key] = true
	}
	documented := map[string]bool{}
	for _, op := range c.ops {
		documented[op.method+" "+op.template] = true
	}
	for key := range routes {
		if !documented[key] {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for key := range documented {
		if !routes[key] {
			t.Errorf("openapi.json documents %s, which is not a route", key)
		}
	}
	if len(routes) < 25 {
		t.Errorf("only %d routes: did registration change?", len(routes))
	}

	// Authenticated operations say how, and document the 401. The user API
	// takes an API key or the wizard's session; /session only the latter.
	for _, op := range c.ops {
		public := slices.Contains([]string{"/healthz", "/livez", "/readyz", "/api/v1/openapi.json"}, op.template)
		want := []string{"apiKey", "session"}
		switch {
		case strings.HasPrefix(op.template, "/api/v1/admin/"):
			want = []string{"operatorToken", "session"}
		case op.template == "/api/v1/session":
			want = []string{"session"}
		}
		var got []string
		if op.op.Security != nil {
			for _, req := range *op.op.Security {
				for scheme := range req {
					got = append(got, scheme)
				}
			}
		}
		switch {
		case public && (op.op.Security == nil || len(*op.op.Security) != 0):
			t.Errorf("%s %s is public but its security is not []", op.method, op.template)
		case !public && !slices.Equal(got, want):
			t.Errorf("%s %s: security is %v, want one of %v", op.method, op.template, got, want)
		case !public && op.op.Responses["401"].Ref == "":
			t.Errorf("%s %s does not document 401", op.method, op.template)
		}
		// User API operations say which role they need, and that the
		// policy may refuse them.
		user := !public && !strings.HasPrefix(op.template, "/api/v1/admin/")
		if user && ((op.op.Role != "member" && op.op.Role != "owner") || op.op.Responses["403"].Ref == "") {
			t.Errorf("%s %s: x-kiln-role is %q and 403 is not documented; every user operation needs both", op.method, op.template, op.op.Role)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	r := h.do("GET", "/api/v1/openapi.json", "", nil).want(t, 200)
	var doc map[string]any
	r.decode(t, &doc)
	if doc["openapi"] != "3.1.0" || !slices.Equal(r.body, api.OpenAPIDocument()) {
		t.Fatal("the served document differs from the embedded one")
	}
	if !json.Valid(r.body) {
		t.Fatal("not JSON")
	}
	h.do("GET", "/healthz", "", nil).want(t, 200)
}
