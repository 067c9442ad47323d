package oauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestLocalPath: next= names only pages on this site, and what reaches
// the Location header cannot be read by a browser as another host.
func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"":                    "/",
		"/":                   "/",
		"/wizard":             "/wizard",
		"/wizard/servers/":    "/wizard/servers/",
		"/wizard?tab=tools":   "/wizard?tab=tools",
		"/a/../wizard":        "/wizard",
		"/./wizard":           "/wizard",
		"/wizard?next=%2F%2F": "/wizard?next=%2F%2F",
	} {
		got, ok := localPath(next)
		if !ok || got != want {
			t.Errorf("localPath(%q) = %q, %v; want %q", next, got, ok, want)
		}
	}
	for _, next := range []string{
		"//evil.example", "///evil.example", "/\\evil.example", "/./%5Cevil.example", "/%5C/evil.example",
		"/%09/evil.example", "/\t/evil.example", "/%0d%0aSet-Cookie:x", "https://evil.example/", "http:evil.example",
		"evil.example", "javascript:alert(1)", "/%2F/evil.example", "/x#frag", "//user@evil.example/",
	} {
		got, ok := localPath(next)
		if !ok {
			continue
		}
		// Accepted: then the header http.Redirect writes must still be local.
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest("GET", "/", nil), got, http.StatusSeeOther)
		loc := rec.Header().Get("Location")
		if len(loc) < 1 || loc[0] != '/' || (len(loc) > 1 && (loc[1] == '/' || loc[1] == '\\')) {
			t.Errorf("localPath(%q) = %q, redirecting to %q", next, got, loc)
		}
	}
	if _, ok := localPath("/./%5Cevil.example"); ok {
		t.Error("an encoded backslash was accepted")
	}
}
