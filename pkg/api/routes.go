package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Request body limits. Go source is at most build.MaxSourceBytes, which JSON
// escaping can make a few times larger; a library module is a Wasm binary of
// up to tens of megabytes.
const (
	maxJSONBody   = 8 << 20
	maxUploadBody = 96 << 20
)

// routes registers every endpoint. Middleware is attached per route rather
// than per Echo group: a group with middleware also catches every unknown
// path under its prefix, which would answer 401 where 404 is right.
// openapi.json must describe each route here (TestOpenAPICoversEveryRoute).
func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/livez", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/api/v1/openapi.json", s.openAPI)

	// Every user route names the least role it needs: the policy of
	// policy.go, held to openapi.json's x-kiln-role by TestRoutePolicy.
	user := func(method, path string, need role, h echo.HandlerFunc) {
		e.Add(method, "/api/v1"+path, h, s.requireCaller, checkParams, s.authorize(need), limitBody(maxJSONBody))
	}
	user(http.MethodGet, "/account", roleMember, s.getAccount)
	user(http.MethodGet, "/session", roleMember, s.getSession)
	user(http.MethodGet, "/library", roleMember, s.listAvailableLibrary)
	user(http.MethodGet, "/library/dev", roleMember, s.getDevLibrary)
	user(http.MethodGet, "/servers", roleMember, s.listServers)
	user(http.MethodPost, "/servers", roleMember, s.createServer)
	user(http.MethodGet, "/servers/:server", roleMember, s.getServer)
	user(http.MethodPatch, "/servers/:server", roleOwner, s.updateServer)
	user(http.MethodDelete, "/servers/:server", roleOwner, s.deleteServer)
	user(http.MethodGet, "/servers/:server/tools", roleMember, s.listTools)
	user(http.MethodPost, "/servers/:server/tools", roleMember, s.createTool)
	user(http.MethodGet, "/servers/:server/tools/:tool", roleMember, s.getTool)
	user(http.MethodDelete, "/servers/:server/tools/:tool", roleMember, s.deleteTool)
	user(http.MethodGet, "/servers/:server/env", roleMember, s.listEnvVars)
	user(http.MethodPut, "/servers/:server/env/:name", roleOwner, s.putEnvVar)
	user(http.MethodDelete, "/servers/:server/env/:name", roleOwner, s.deleteEnvVar)
	user(http.MethodPut, "/servers/:server/env/:name/value", roleOwner, s.setEnvValue)
	user(http.MethodDelete, "/servers/:server/env/:name/value", roleOwner, s.deleteEnvValue)
	// A server's own MCP keys: credentials to hand out, so owners only.
	user(http.MethodGet, "/servers/:server/keys", roleOwner, s.listServerKeys)
	user(http.MethodPost, "/servers/:server/keys", roleOwner, s.createServerKey)
	user(http.MethodDelete, "/servers/:server/keys/:key", roleOwner, s.revokeServerKey)
	user(http.MethodGet, "/executions", roleOwner, s.listExecutions)
	user(http.MethodGet, "/wizard/sessions", roleMember, s.listWizardSessions)
	user(http.MethodPost, "/wizard/sessions", roleMember, s.createWizardSession)
	user(http.MethodGet, "/wizard/sessions/:session", roleMember, s.getWizardSession)
	user(http.MethodGet, "/wizard/sessions/:session/events", roleMember, s.streamWizard)
	user(http.MethodPost, "/wizard/sessions/:session/propose", roleMember, s.proposeWizard)
	user(http.MethodPost, "/wizard/sessions/:session/accept", roleMember, s.acceptWizard)
	user(http.MethodPost, "/wizard/sessions/:session/generate", roleMember, s.generateWizard)
	user(http.MethodPut, "/wizard/sessions/:session/tools/:tool/source", roleMember, s.setWizardToolSource)
	user(http.MethodPost, "/wizard/sessions/:session/tools/:tool/run", roleMember, s.runWizardTool)
	// Secret values become the deployed server's env values: what owners set.
	user(http.MethodPut, "/wizard/sessions/:session/secrets/:name", roleOwner, s.setWizardSecret)
	// Deploying adds tools (and may create a server): what members may do.
	user(http.MethodPost, "/wizard/sessions/:session/deploy", roleMember, s.deployWizard)

	admin := func(method, path string, h echo.HandlerFunc, limit int64) {
		e.Add(method, "/api/v1/admin"+path, h, s.requireOperator, checkParams, limitBody(limit))
	}
	admin(http.MethodGet, "/customers", s.listCustomers, maxJSONBody)
	admin(http.MethodPost, "/customers", s.createCustomer, maxJSONBody)
	admin(http.MethodGet, "/customers/:customer", s.getCustomer, maxJSONBody)
	admin(http.MethodPut, "/customers/:customer/tier", s.setCustomerTier, maxJSONBody)
	admin(http.MethodGet, "/customers/:customer/keys", s.listKeys, maxJSONBody)
	admin(http.MethodPost, "/customers/:customer/keys", s.createKey, maxJSONBody)
	admin(http.MethodDelete, "/customers/:customer/keys/:key", s.revokeKey, maxJSONBody)
	admin(http.MethodGet, "/plans", s.listPlans, maxJSONBody)
	admin(http.MethodGet, "/plans/:plan", s.getPlan, maxJSONBody)
	admin(http.MethodPut, "/plans/:plan", s.putPlan, maxJSONBody)
	admin(http.MethodDelete, "/plans/:plan", s.deletePlan, maxJSONBody)
	admin(http.MethodGet, "/library", s.listLibrary, maxJSONBody)
	admin(http.MethodPost, "/library", s.uploadLibrary, maxUploadBody)
	admin(http.MethodGet, "/library/:name", s.listLibraryVersions, maxJSONBody)
	admin(http.MethodPatch, "/library/:name/:version", s.updateLibrary, maxJSONBody)
	admin(http.MethodGet, "/oauth-clients", s.listOAuthClients, maxJSONBody)
	admin(http.MethodPost, "/oauth-clients", s.createOAuthClient, maxJSONBody)
	admin(http.MethodGet, "/oauth-clients/:client", s.getOAuthClient, maxJSONBody)
	admin(http.MethodDelete, "/oauth-clients/:client", s.deleteOAuthClient, maxJSONBody)
	admin(http.MethodGet, "/oauth-signing-keys", s.listSigningKeys, maxJSONBody)
	admin(http.MethodPost, "/oauth-signing-keys", s.rotateSigningKeys, maxJSONBody)
	admin(http.MethodPut, "/operators/:user", s.grantOperator, maxJSONBody)
	admin(http.MethodDelete, "/operators/:user", s.revokeOperator, maxJSONBody)
	admin(http.MethodGet, "/audit", s.listAudit, maxJSONBody)
	admin(http.MethodGet, "/llm-usage", s.listLLMUsage, maxJSONBody)
	admin(http.MethodPost, "/executions/:execution/replay", s.replayExecution, maxJSONBody)
}

// healthz answers /healthz and /livez: the process is alive and serving
// HTTP. It checks nothing else, so that a database outage does not make
// an orchestrator restart every node (readiness is /readyz).
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers whether this node should get new work (Config.Ready):
// 503 with the reason while it is draining, its database does not answer
// or lacks migrations. Never cached: load balancers poll it.
func (s *Server) readyz(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if err := s.ready(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// storeAnswers is the readiness of an API without Config.Ready.
func (s *Server) storeAnswers(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready: the database does not answer", "error", err)
		return errors.New("the database does not answer")
	}
	return nil
}
