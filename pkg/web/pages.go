package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// appPage is a page for a signed-in user: a shell the page's script fills
// from the API.
type appPage struct {
	pattern  string
	template string
	title    string
	// nav is the navigation entry the page belongs to.
	nav string
}

var appPages = []appPage{
	{pattern: "/servers", template: "servers", title: "Servers", nav: "servers"},
	{pattern: "/servers/{server}", template: "server", title: "Server", nav: "servers"},
	{pattern: "/servers/{server}/playground", template: "playground", title: "Playground", nav: "servers"},
	{pattern: "/library", template: "library", title: "Library", nav: "library"},
	{pattern: "/executions", template: "executions", title: "Executions", nav: "executions"},
	{pattern: "/wizard", template: "wizard", title: "Wizard", nav: "wizard"},
	{pattern: "/wizard/{session}", template: "wizard_session", title: "Wizard session", nav: "wizard"},
}

// publicPages are rendered without a session.
var publicPages = []string{"home", "account", "operator"}

// parsePages parses each page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	names := append([]string{}, publicPages...)
	for _, p := range appPages {
		names = append(names, p.template)
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parsing page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Title string
	// Page names the script module of the page (data-page).
	Page string
	Nav  string
	User *store.User
	// CSRF is the session's CSRF token, for the API's X-CSRF-Token header.
	CSRF string
	// Server is the page's server ID, and MCPURL its MCP endpoint (data
	// attributes for the script).
	Server, MCPURL string
	// Session is the page's wizard session ID.
	Session string
	// Form is a form page's state.
	Form formView
	// Home is the landing page's choices.
	Home homeView
}

// render writes a page, buffered so that a template error is a clean 500
// and not half a page.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, v view) {
	var buf bytes.Buffer
	if err := w.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		w.log.ErrorContext(r.Context(), "rendering a page", "page", name, "error", err)
		http.Error(rw, "Kiln could not show this page.", http.StatusInternalServerError)
		return
	}
	secureHeaders(rw.Header())
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// serveApp serves a page that needs a signed-in user; without one the
// browser goes to the sign-in page and comes back.
func (w *Web) serveApp(p appPage) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		_, user, err := w.cfg.Sessions.Lookup(r)
		if errors.Is(err, websession.ErrNoSession) {
			http.Redirect(rw, r, signInPath(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err != nil {
			w.log.ErrorContext(r.Context(), "looking up a browser session", "error", err)
			http.Error(rw, "Kiln could not read your session; try again.", http.StatusServiceUnavailable)
			return
		}
		v := view{Title: p.title, Page: p.template, Nav: p.nav, User: &user, CSRF: websession.CSRFToken(r)}
		v.Session = r.PathValue("session")
		if id := r.PathValue("server"); id != "" {
			v.Server, v.MCPURL = id, auth.ResourceURL(w.cfg.PublicURL, id)
		}
		w.render(rw, r, http.StatusOK, p.template, v)
	}
}

// signInPath is the sign-in page (pkg/oauth's), returning to next.
func signInPath(next string) string { return "/oauth/login?next=" + url.QueryEscape(next) }

// homeView offers the ways in to a visitor who is not signed in.
type homeView struct {
	SignIn, Upstream, UpstreamURL string
	Signup                        bool
}

// serveHome sends a signed-in user to their servers, a fresh instance's
// first visitor to the first-account form, and anyone else to the ways in.
func (w *Web) serveHome(rw http.ResponseWriter, r *http.Request) {
	if _, _, err := w.cfg.Sessions.Lookup(r); err == nil {
		http.Redirect(rw, r, "/servers", http.StatusSeeOther)
		return
	}
	if fresh, err := w.fresh(r); err != nil {
		w.log.ErrorContext(r.Context(), "checking for a first account", "error", err)
	} else if fresh {
		http.Redirect(rw, r, "/setup", http.StatusSeeOther)
		return
	}
	h := homeView{SignIn: signInPath("/servers"), Signup: w.cfg.Signup}
	if w.cfg.Upstream != "" {
		h.Upstream, h.UpstreamURL = w.cfg.Upstream, "/oauth/upstream/start?next="+url.QueryEscape("/servers")
	}
	w.render(rw, r, http.StatusOK, "home", view{Title: "Welcome", Page: "home", Home: h})
}

// fresh says whether this instance offers to create its first account.
func (w *Web) fresh(r *http.Request) (bool, error) {
	if !w.cfg.FirstRun {
		return false, nil
	}
	has, err := w.cfg.Store.HasUsers(r.Context())
	return !has, err
}

// serveOperator serves the operator page. A signed-in operator account
// uses it with its session (and CSRF token), like the other pages; anyone
// else signs in to it by pasting the operator token, which its script
// keeps in the tab's sessionStorage and sends as a bearer token to the
// admin API. The shell holds nothing secret; without a valid credential
// the page is empty.
func (w *Web) serveOperator(rw http.ResponseWriter, r *http.Request) {
	v := view{Title: "Operator", Page: "operator", Nav: "operator"}
	if _, user, err := w.cfg.Sessions.Lookup(r); err == nil {
		v.User, v.CSRF = &user, websession.CSRFToken(r)
	} else if !errors.Is(err, websession.ErrNoSession) {
		w.log.ErrorContext(r.Context(), "looking up a browser session", "error", err)
	}
	w.render(rw, r, http.StatusOK, "operator", v)
}
