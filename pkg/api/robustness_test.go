package api_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestInvalidInputIsNever500 sends malformed requests to every route, with
// valid credentials: each must be answered with a 4xx (or a success) and a
// JSON error body, never a 500, and every answer must be one openapi.json
// documents.
func TestInvalidInputIsNever500(t *testing.T) {
	each(t, invalidInputIsNever500)
}

func invalidInputIsNever500(t *testing.T, h *harness) {
	custID, key := h.customer("free")
	srv := h.server(key, "s")
	param := regexp.MustCompile(`:[a-z_]+`)
	pathValues := []string{"x", url.PathEscape("../../etc"), url.PathEscape(strings.Repeat("z", 300)), url.PathEscape("\x00\xff"), srv.ID, custID}
	bodies := []string{
		``, `null`, `[]`, `"string"`, `{`, `{"name": {"nested": true}}`, `{"version": 1e400}`,
		`{"files": {"main.go": 7}}`, `{"library": "echo"}`, `{"value": null}`, `{"deprecated": "yes"}`,
		`{"expires_at": "tomorrow"}`, `{"tier": ["free"]}`, `{"tier": "fr\u0000ee", "name": "x"}`,
		`{"files": {"a\u0000.go": "package main"}}`, `{"name": "\u0000"}`, `{"deprecated": true, "min_tier": "\u0000"}`,
		`{"server_id": "\u0000"}`, `{"server_id": "srv_\udfff"}`, `{"name": "ok", "description": "\u0000"}`, `{"tool": "\u0000", "library": {"name": "echo"}}`,
		`{"library": {"name": "echo", "version": "\u0000"}}`, `{"hosts": ["\u0000"]}`, `{"allowed_hosts": ["\u0000"], "name": "n"}`,
		`{"value": "\u0000\udfff"}`, `{"name": "\ud800", "tier": "free"}`, `{"allowed_hosts": "example.com"}`, "\xff\xfe",
	}
	sent := 0
	for _, r := range h.routes.Routes() {
		if t.Failed() {
			return
		}
		if r.Method == echo.RouteNotFound || r.Path == "/healthz" || strings.HasSuffix(r.Path, "openapi.json") {
			continue
		}
		token := key
		if strings.HasPrefix(r.Path, "/api/v1/admin/") {
			token = operatorToken
		}
		for _, pv := range pathValues {
			path := param.ReplaceAllString(r.Path, pv)
			for _, body := range bodies {
				for _, q := range []string{"", "?limit=-5&before=abc&server=" + url.QueryEscape("'; drop")} {
					res := h.do(r.Method, path+q, token, body)
					sent++
					if res.status >= 500 {
						t.Errorf("%s %s with %q: %s", r.Method, path+q, body, res)
					}
					if res.status >= 400 && res.errorMessage(t) == "" {
						t.Errorf("%s %s with %q: an error without a message: %s", r.Method, path+q, body, res)
					}
				}
			}
		}
	}
	if sent < 3000 {
		t.Fatalf("only %d requests: were the routes found?", sent)
	}
	if strings.Contains(h.logs.String(), "internal error") {
		t.Fatalf("an internal error was logged:\n%s", h.logs.String())
	}
}
