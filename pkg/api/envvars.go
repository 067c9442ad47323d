package api

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
)

func (s *Server) listEnvVars(c echo.Context) error {
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	vars, err := s.store.ListEnvVars(c.Request().Context(), srv.ID)
	if err != nil {
		return err
	}
	out := list[envVarView]{Items: make([]envVarView, 0, len(vars))}
	for _, v := range vars {
		out.Items = append(out.Items, viewEnvVar(v))
	}
	return c.JSON(http.StatusOK, out)
}

// putEnvVarRequest declares a variable. Hosts lists where a secret's value
// may be sent; the host substitutes it into requests to those hosts only.
type putEnvVarRequest struct {
	Description string   `json:"description"`
	Secret      bool     `json:"secret"`
	Required    bool     `json:"required"`
	Hosts       []string `json:"hosts"`
}

func (s *Server) putEnvVar(c echo.Context) error {
	var req putEnvVarRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	if err := checkEnvName(name); err != nil {
		return err
	}
	if err := checkText("description", req.Description, maxDescription, false); err != nil {
		return err
	}
	hosts, err := checkHosts("hosts", req.Hosts)
	if err != nil {
		return err
	}
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The count is checked outside a transaction, so racing declarations
	// may pass it by a few; it bounds size, it is not a billing limit.
	existing, err := s.store.ListEnvVars(ctx, srv.ID)
	if err != nil {
		return err
	}
	declared := false
	for _, v := range existing {
		declared = declared || v.Name == name
	}
	if !declared && len(existing) >= maxEnvVarsPerSrv {
		return conflict("server %s declares %d env vars, the most allowed; delete one first", srv.ID, len(existing))
	}
	v := store.EnvVar{ServerID: srv.ID, Name: name, Description: req.Description, Secret: req.Secret, Required: req.Required, Hosts: hosts}
	var change store.EnvVarChange
	err = s.inTx(c, func(tx *store.Store) error {
		if change, err = tx.DeclareEnvVar(ctx, &v); err != nil {
			return err
		}
		var before map[string]any
		if change.Before != nil {
			before = envVarFields(*change.Before)
		}
		return s.audit(c, tx, srv.CustomerID, actionEnvVarDeclare, srv.ID+"/"+name, map[string]any{
			"changes": changes(before, envVarFields(v)), "value_cleared": change.ValueCleared,
		})
	})
	if err != nil {
		return err
	}
	s.redeploy(c, srv.ID)
	view := viewEnvVar(v)
	view.ValueCleared = &change.ValueCleared
	return c.JSON(http.StatusOK, view)
}

// envVarFields are the fields of a declaration its audit records compare
// (a declaration holds no value).
func envVarFields(e store.EnvVar) map[string]any {
	v := viewEnvVar(e)
	return map[string]any{"description": v.Description, "secret": v.Secret, "required": v.Required, "hosts": v.Hosts}
}

func (s *Server) deleteEnvVar(c echo.Context) error {
	return s.deleteEnv(c, (*store.Store).DeleteEnvVar, actionEnvVarDelete, "server %s declares no env var %s")
}

func (s *Server) deleteEnvValue(c echo.Context) error {
	return s.deleteEnv(c, (*store.Store).DeleteEnvValue, actionEnvValueDelete, "server %s has no value for env var %s")
}

// deleteEnv removes an env var declaration or value: the two differ only in
// what they delete, how a missing one is described, and the audit action.
func (s *Server) deleteEnv(c echo.Context, del func(tx *store.Store, ctx context.Context, serverID, name string) error, action, missing string) error {
	name := c.Param("name")
	if err := checkEnvName(name); err != nil {
		return err
	}
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := del(tx, c.Request().Context(), srv.ID, name); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, action, srv.ID+"/"+name, nil)
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound(missing, srv.ID, name)
		}
		return err
	}
	s.redeploy(c, srv.ID)
	return c.NoContent(http.StatusNoContent)
}

type setEnvValueRequest struct {
	Value *string `json:"value"`
}

// setEnvValue stores a value sealed under the master key. Values are
// write-only: no endpoint returns one, and neither the value nor anything
// derived from it goes into an error, the audit log or the server log.
func (s *Server) setEnvValue(c echo.Context) error {
	var req setEnvValueRequest
	if err := decodeJSONQuiet(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	if err := checkEnvName(name); err != nil {
		return err
	}
	switch {
	case req.Value == nil:
		return badRequest("the body must be {\"value\": \"...\"}")
	case len(*req.Value) > maxEnvValueBytes:
		return errorf(http.StatusRequestEntityTooLarge, "the value is %d bytes; at most %d are allowed", len(*req.Value), maxEnvValueBytes)
	case !utf8.ValidString(*req.Value):
		return badRequest("the value must be valid UTF-8")
	}
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	sealed, err := s.secrets.Seal([]byte(*req.Value), secrets.EnvValueAssociatedData(srv.ID, name))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.SetEnvValue(ctx, srv.ID, name, sealed); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, store.ActionEnvValueSet, srv.ID+"/"+name, nil)
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("server %s declares no env var %s; declare it with PUT .../env/%s first", srv.ID, name, name)
		}
		return err
	}
	s.redeploy(c, srv.ID)
	return c.NoContent(http.StatusNoContent)
}
