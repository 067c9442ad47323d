// Package web is Kiln's browser front end: the pages `kiln serve` answers
// at /. Pages are html/template shells rendered on the server (who is
// signed in, the CSRF token, the page's identifiers) and filled by small
// vanilla JavaScript modules that call the JSON user API with the session
// cookie and the X-CSRF-Token header, so every change a person makes goes
// through the same validation, policy and audit as an API client's. Only
// what has no API — creating the first account and signing up — is a
// server-side form post handled here. Templates and assets are embedded:
// the binary serves the whole UI with no build step and nothing from
// another origin.
package web

import (
	"cmp"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the front end needs from its node.
type Config struct {
	Store    *store.Store
	Sessions *websession.Manager
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// PublicURL is the node's base URL, for the MCP URLs of Connect.
	PublicURL string
	// FirstRun lets the first visitor of an instance with no user create
	// the first account (the owner of a new customer). Development only:
	// in production the first visitor could be anyone.
	FirstRun bool
	// Signup lets a visitor create a local account with a new customer on
	// the free plan.
	Signup bool
	// Upstream names the configured OpenID provider ("" when none).
	Upstream string
}

// Web serves the pages and their assets.
type Web struct {
	cfg    Config
	pages  map[string]*template.Template
	static http.Handler
	log    *slog.Logger
}

// New parses the embedded templates.
func New(cfg Config) (*Web, error) {
	if cfg.Store == nil || cfg.Sessions == nil {
		return nil, errors.New("web: Store and Sessions are required")
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return &Web{cfg: cfg, pages: pages, static: http.StripPrefix("/static/", http.FileServerFS(sub)), log: cfg.Logger}, nil
}

// Handler serves the front end's paths and hands every other request to
// next (the API), which keeps answering them as it did.
func (w *Web) Handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.serveHome)
	mux.HandleFunc("GET /setup", w.serveSetup)
	mux.HandleFunc("POST /setup", w.serveSetup)
	mux.HandleFunc("GET /signup", w.serveSignup)
	mux.HandleFunc("POST /signup", w.serveSignup)
	mux.HandleFunc("GET /operator", w.serveOperator)
	mux.Handle("GET /static/", w.assets())
	for _, p := range appPages {
		mux.HandleFunc("GET "+p.pattern, w.serveApp(p))
	}
	mux.Handle("/", next)
	return mux
}

// assets serves the embedded files. They change only with the binary;
// no-cache makes the browser ask again rather than run an old script
// against a new API (they are small, and served from memory).
func (w *Web) assets() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Cache-Control", "no-cache")
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(rw, r)
			return
		}
		w.static.ServeHTTP(rw, r)
	})
}

// contentSecurityPolicy allows scripts, styles and requests of this origin
// only: no inline script, no eval, no asset from elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secureHeaders are the headers of every page.
func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}
