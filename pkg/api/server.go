// Package api is Kiln's HTTP surface, on Echo: the operator API under
// /api/v1/admin (authenticated by the operator token) and the user API under
// /api/v1 (authenticated by a customer's API key, or by the browser
// wizard's session cookie with a CSRF header), described by the OpenAPI
// document at /api/v1/openapi.json.
//
// Authorization of the user API is one policy, enforced in one place: every
// route in routes.go names the least role it needs, and one middleware
// (policy.go) admits or refuses, and audits the refusals, before any
// handler runs. Members read the account, the library, servers, tools and
// env var declarations, create servers, and add and remove tools; owners
// also change and delete servers (egress hosts, payload recording), manage
// env vars and their secret values, and read the execution log. An account
// API key acts as an owner. A key scoped to one server is for that server's
// MCP endpoint only: the user API refuses it every request.
//
// Handlers return errors; one error handler (errors.go) turns them into a
// status and a {"error": "..."} body. Invalid input is a 4xx with a message
// saying what to change; only failures of Kiln itself are 500s, logged with
// their cause and answered without it.
package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/websession"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/sandbox"
)

// Config configures the API: the services it runs on, which pkg/service
// constructs. Store, Catalog, Engine, Builds, Secrets and OperatorToken
// are required; the rest say what a zero value means.
type Config struct {
	// Logger logs every request (method, URI, status, latency). Nil:
	// slog.Default().
	Logger  *slog.Logger
	Store   *store.Store
	Catalog *tier.Catalog
	// Engine validates, instruments and compiles modules before they are
	// stored, so a module that cannot run is refused at upload.
	Engine *sandbox.Engine
	// Builds compiles Go tool source.
	Builds *build.Pool
	// Secrets seals env var values before they reach the store.
	Secrets *secrets.Box
	// OperatorToken authenticates /api/v1/admin.
	OperatorToken config.Token
	// LibraryKeys are the keys a library upload must be signed with; none
	// means every upload is refused.
	LibraryKeys []signing.PublicKey
	// Deployer hears of every change to what a server serves, so the MCP
	// endpoints follow at once (mcphost.Host). Nil: no MCP serving.
	Deployer Deployer
	// Sessions, when set, lets a signed-in browser (the wizard) use the
	// user API with its session cookie. Nil: API keys only.
	Sessions *websession.Manager
	// Wizard runs the wizard's sessions (/api/v1/wizard). Nil: those
	// routes answer 503.
	Wizard *wizard.Wizard
	// Ready answers /readyz: nil when the node should get new work, else
	// why not, in words anyone may see (service.Service.Ready). Nil:
	// ready whenever the store answers.
	Ready func(context.Context) error
}

// Deployer puts server changes into effect (on every node).
type Deployer interface {
	Reload(ctx context.Context, serverID string) error
	Remove(ctx context.Context, serverID string) error
}

// Server is the HTTP handler of `kiln serve`.
type Server struct {
	echo    *echo.Echo
	log     *slog.Logger
	store   *store.Store
	catalog *tier.Catalog
	engine  *sandbox.Engine
	builds  *build.Pool
	secrets *secrets.Box
	// operatorHash is the SHA-256 of the operator token: requests are
	// compared against it in constant time, and the token itself is not
	// kept.
	operatorHash [sha256.Size]byte
	libraryKeys  []signing.PublicKey
	deployer     Deployer
	sessions     *websession.Manager
	wizard       *wizard.Wizard
	ready        func(context.Context) error
}

// New builds the HTTP handler.
func New(d Config) (*Server, error) {
	switch {
	case d.Store == nil, d.Catalog == nil, d.Engine == nil, d.Builds == nil, d.Secrets == nil:
		return nil, errors.New("api: Config is missing a service")
	case len(d.OperatorToken.Reveal()) < config.MinOperatorTokenLength:
		return nil, errors.New("api: the operator token is missing or too short")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{
		echo: e, log: d.Logger, store: d.Store, catalog: d.Catalog, engine: d.Engine, builds: d.Builds,
		secrets: d.Secrets, operatorHash: sha256.Sum256([]byte(d.OperatorToken.Reveal())),
		libraryKeys: d.LibraryKeys, deployer: d.Deployer, sessions: d.Sessions, wizard: d.Wizard,
		ready: d.Ready,
	}
	if s.ready == nil {
		s.ready = s.storeAnswers
	}
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		// Only the method, URI, status and latency are logged: request
		// bodies may hold secret values and are never logged. One line
		// per request is noise in production, so it is DEBUG, with the
		// request's context (its request id).
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			d.Logger.DebugContext(c.Request().Context(), "request", "method", v.Method, "uri", v.URI, "status", v.Status, "latency", v.Latency)
			return nil
		},
	}))
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists the registered routes (method and Echo path), for the test
// that holds the OpenAPI document to them.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }
