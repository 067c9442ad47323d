package api

import (
	"bytes"
	"encoding/json"
	"errors"
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
	actionBuildFail      = "module.build_failed"
)

// inTx runs fn, a request's store changes and their audit records, in one
// transaction: the changes and the records are stored together or not at
// all. fn must use only tx, never s.store or anything holding it (s.catalog,
// s.server, s.customer), which would wait on the transaction's own lock; and
// it must stay short: builds, compiles and redeploys happen outside it, the
// redeploys after it. A failed audit record is answered as a 500 saying the
// change was not made; fn's other errors are returned as they are.
func (s *Server) inTx(c echo.Context, fn func(tx *store.Store) error) error {
	err := s.store.InTx(c.Request().Context(), fn)
	if failed, ok := errors.AsType[*auditError](err); ok {
		s.log.ErrorContext(c.Request().Context(), "a change was not made because its audit record could not be written",
			"action", failed.action, "target", failed.target, "error", failed.err)
		return errorf(http.StatusInternalServerError, "the change was not made: its audit record could not be written; the server log has the details")
	}
	return err
}

// auditError is a failed audit record, told apart from the change's own
// errors by inTx.
type auditError struct {
	action, target string
	err            error
}

func (e *auditError) Error() string {
	return fmt.Sprintf("api: audit record of %s on %s: %v", e.action, e.target, e.err)
}

func (e *auditError) Unwrap() error { return e.err }

// audit records, in tx (the transaction of s.inTx that makes the change), a
// change the request made. details must never hold a secret value.
func (s *Server) audit(c echo.Context, tx *store.Store, customerID, action, target string, details map[string]any) error {
	doc := store.JSON(`{}`)
	if len(details) > 0 {
		b, err := json.Marshal(details)
		if err != nil {
			return &auditError{action: action, target: target, err: fmt.Errorf("encode details: %w", err)}
		}
		doc = b
	}
	entry := store.AuditEntry{Actor: actor(c), Action: action, Target: target, Details: doc}
	if customerID != "" {
		entry.CustomerID = &customerID
	}
	if err := tx.RecordAudit(c.Request().Context(), &entry); err != nil {
		return &auditError{action: action, target: target, err: err}
	}
	return nil
}

// auditAlone records an event that changes nothing (a refusal, a failed
// build) on its own. The request's answer does not depend on it, so a
// failure to record is logged rather than answered.
func (s *Server) auditAlone(c echo.Context, customerID, action, target string, details map[string]any) {
	if err := s.audit(c, s.store, customerID, action, target, details); err != nil {
		s.log.ErrorContext(c.Request().Context(), "an audit record could not be written", "action", action, "target", target, "error", err)
	}
}

// changes is the audit record of an update: each field whose value differs
// between before and after (nil for a new object), as {"before": ...,
// "after": ...}. Values are compared as the JSON they are recorded as. The
// fields must never hold a secret value.
func changes(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for field, a := range after {
		b, known := before[field]
		if known && sameJSON(b, a) {
			continue
		}
		out[field] = map[string]any{"before": b, "after": a}
	}
	return out
}

func sameJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}
