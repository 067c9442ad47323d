package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
)

// Audit actions the API records beyond the ones pkg/store names.
const (
	actionCustomerCreate = "customer.create"
	actionServerCreate   = "server.create"
	actionServerUpdate   = "server.update"
	actionToolCreate     = "tool.create"
	actionToolDelete     = "tool.delete"
	actionEnvVarDeclare  = "envvar.declare"
	actionEnvVarDelete   = "envvar.delete"
	actionEnvValueDelete = "envvar.unset"
	actionLibraryTier    = "library.tier"
)

// audit records a change the request made. details must never hold a
// secret value. The change is already made when audit runs (the store
// offers no transaction spanning both), so a failure here is answered as a
// 500 that says so, and logged.
func (s *Server) audit(c echo.Context, customerID, action, target string, details map[string]any) error {
	doc := store.JSON(`{}`)
	if len(details) > 0 {
		b, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("api: audit details of %s: %w", action, err)
		}
		doc = b
	}
	entry := store.AuditEntry{Actor: actor(c), Action: action, Target: target, Details: doc}
	if customerID != "" {
		entry.CustomerID = &customerID
	}
	if err := s.store.RecordAudit(c.Request().Context(), &entry); err != nil {
		s.log.Error("the change was made but its audit record was not written", "action", action, "target", target, "error", err)
		return errorf(http.StatusInternalServerError, "the change was made but its audit record could not be written; the server log has the details")
	}
	return nil
}
