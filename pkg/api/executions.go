package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
)

// listExecutions reads the caller's execution log, newest first, filtered
// by server and tool, a page at a time (?before= the previous page's
// next_before).
func (s *Server) listExecutions(c echo.Context) error {
	p := caller(c)
	before, limit, err := page(c, "executions")
	if err != nil {
		return err
	}
	f := store.ExecutionFilter{
		CustomerID: p.CustomerID, ServerID: c.QueryParam("server"), ToolName: c.QueryParam("tool"),
		Before: before, Limit: limit,
	}
	runs, err := s.store.ListExecutions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[executionView]{Items: make([]executionView, 0, len(runs))}
	for _, e := range runs {
		out.Items = append(out.Items, viewExecution(e))
	}
	out.NextBefore = nextBefore(len(runs), pageLimit(f.Limit), func() int64 { return runs[len(runs)-1].ID })
	return c.JSON(http.StatusOK, out)
}
