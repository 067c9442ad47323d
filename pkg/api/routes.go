package api

import (
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
	e.GET("/api/v1/openapi.json", s.openAPI)

	user := func(method, path string, h echo.HandlerFunc) {
		e.Add(method, "/api/v1"+path, h, s.requireCaller, checkParams, limitBody(maxJSONBody))
	}
	user(http.MethodGet, "/account", s.getAccount)
	user(http.MethodGet, "/session", s.getSession)
	user(http.MethodGet, "/library", s.listAvailableLibrary)
	user(http.MethodGet, "/servers", s.listServers)
	user(http.MethodPost, "/servers", s.createServer)
	user(http.MethodGet, "/servers/:server", s.getServer)
	user(http.MethodPatch, "/servers/:server", s.updateServer)
	user(http.MethodDelete, "/servers/:server", s.deleteServer)
	user(http.MethodGet, "/servers/:server/tools", s.listTools)
	user(http.MethodPost, "/servers/:server/tools", s.createTool)
	user(http.MethodGet, "/servers/:server/tools/:tool", s.getTool)
	user(http.MethodDelete, "/servers/:server/tools/:tool", s.deleteTool)
	user(http.MethodGet, "/servers/:server/env", s.listEnvVars)
	user(http.MethodPut, "/servers/:server/env/:name", s.putEnvVar)
	user(http.MethodDelete, "/servers/:server/env/:name", s.deleteEnvVar)
	user(http.MethodPut, "/servers/:server/env/:name/value", s.setEnvValue)
	user(http.MethodDelete, "/servers/:server/env/:name/value", s.deleteEnvValue)
	user(http.MethodGet, "/executions", s.listExecutions)

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
	admin(http.MethodGet, "/audit", s.listAudit, maxJSONBody)
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
