package api

import (
	"context"

	"github.com/labstack/echo/v4"
)

// redeploy puts a server's stored state into effect on its MCP endpoint.
// The change is already stored and audited, so a failure here does not fail
// the request: it is logged, and the MCP host's periodic resync retries.
func (s *Server) redeploy(c echo.Context, serverID string) {
	s.deploy(c, serverID, Deployer.Reload)
}

// undeploy stops serving a deleted server.
func (s *Server) undeploy(c echo.Context, serverID string) {
	s.deploy(c, serverID, Deployer.Remove)
}

func (s *Server) deploy(c echo.Context, serverID string, op func(Deployer, context.Context, string) error) {
	if s.deployer == nil {
		return
	}
	// The request's context ends with the response; the deploy should not.
	ctx := context.WithoutCancel(c.Request().Context())
	if err := op(s.deployer, ctx, serverID); err != nil {
		s.log.WarnContext(c.Request().Context(), "the MCP endpoint did not follow a change; the next resync retries", "server", serverID, "error", err)
	}
}
