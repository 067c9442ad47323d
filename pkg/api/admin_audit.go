package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
)

// listAudit reads the audit log, newest first, filtered by customer, actor
// and action, a page at a time (?before= the previous page's next_before).
func (s *Server) listAudit(c echo.Context) error {
	before, limit, err := page(c, "entries")
	if err != nil {
		return err
	}
	f := store.AuditFilter{
		CustomerID: c.QueryParam("customer"), Actor: c.QueryParam("actor"), Action: c.QueryParam("action"),
		Before: before, Limit: limit,
	}
	entries, err := s.store.ListAudit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[auditView]{Items: make([]auditView, 0, len(entries))}
	for _, e := range entries {
		out.Items = append(out.Items, viewAudit(e))
	}
	out.NextBefore = nextBefore(len(entries), pageLimit(f.Limit), func() int64 { return entries[len(entries)-1].ID })
	return c.JSON(http.StatusOK, out)
}

// pageLimit is the page size the store applies for a requested limit.
func pageLimit(limit int) int {
	if limit <= 0 || limit > store.MaxPage {
		return store.MaxPage
	}
	return limit
}

// nextBefore is the cursor of the next page: set when this page was full,
// so there may be more.
func nextBefore(n, limit int, lastID func() int64) *int64 {
	if n == 0 || n < limit {
		return nil
	}
	id := lastID()
	return &id
}
