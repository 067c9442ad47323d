package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// server reads the :server of the path for the caller: another customer's
// server is not found, as if it did not exist.
func (s *Server) server(c echo.Context) (store.Server, error) {
	id := c.Param("server")
	srv, err := s.store.Server(c.Request().Context(), caller(c).CustomerID, id)
	if errors.Is(err, store.ErrNotFound) {
		return srv, notFound("there is no server %s", id)
	}
	return srv, err
}

// etag is a server's version as an entity tag, for If-Match.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func (s *Server) writeServer(c echo.Context, status int, srv store.Server) error {
	c.Response().Header().Set("ETag", etag(srv.Version))
	return c.JSON(status, viewServer(srv))
}

type createServerRequest struct {
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	AllowedHosts   []string `json:"allowed_hosts"`
	RecordPayloads bool     `json:"record_payloads"`
}

func (s *Server) createServer(c echo.Context) error {
	p := caller(c)
	var req createServerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkText("name", req.Name, maxTextName, true); err != nil {
		return err
	}
	if err := checkText("description", req.Description, maxDescription, false); err != nil {
		return err
	}
	hosts, err := checkHosts("allowed_hosts", req.AllowedHosts)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	plan, err := s.catalog.ForCustomer(ctx, p.CustomerID)
	if err != nil {
		return err
	}
	srv := store.Server{CustomerID: p.CustomerID, Name: req.Name, Description: req.Description, AllowedHosts: hosts, RecordPayloads: req.RecordPayloads}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.CreateServer(ctx, &srv, func(n int) error { return tier.CheckServers(plan, n) }); err != nil {
			return err
		}
		return s.audit(c, tx, p.CustomerID, actionServerCreate, srv.ID, map[string]any{"changes": changes(nil, serverFields(srv))})
	})
	var le *tier.LimitError
	switch {
	case errors.As(err, &le):
		return limitExceeded(le)
	case errors.Is(err, store.ErrConflict):
		return conflict("a server named %q exists", req.Name)
	case err != nil:
		return err
	}
	s.redeploy(c, srv.ID)
	c.Response().Header().Set("Location", "/api/v1/servers/"+srv.ID)
	return s.writeServer(c, http.StatusCreated, srv)
}

func (s *Server) listServers(c echo.Context) error {
	p := caller(c)
	all, err := s.store.ListServers(c.Request().Context(), p.CustomerID)
	if err != nil {
		return err
	}
	out := list[serverView]{Items: make([]serverView, 0, len(all))}
	for _, srv := range all {
		out.Items = append(out.Items, viewServer(srv))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getServer(c echo.Context) error {
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	return s.writeServer(c, http.StatusOK, srv)
}

// updateServerRequest changes the fields given. Version is the version the
// change was made against; it may come from If-Match instead.
type updateServerRequest struct {
	Name           *string   `json:"name"`
	Description    *string   `json:"description"`
	AllowedHosts   *[]string `json:"allowed_hosts"`
	RecordPayloads *bool     `json:"record_payloads"`
	Version        *int64    `json:"version"`
}

// updateServer applies a change only to the version the caller read: of two
// concurrent changes to one version, one wins and the other is a 409. The
// change is applied to the server as read in its own transaction, so what it
// stores and the before and after it audits are those of that version.
func (s *Server) updateServer(c echo.Context) error {
	var req updateServerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	version, err := requestVersion(c, req.Version)
	if err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.inTx(c, func(tx *store.Store) error {
		before, err := tx.Server(ctx, srv.CustomerID, srv.ID)
		if err != nil {
			return err
		}
		srv = before
		req.applyTo(&srv)
		srv.Version = version
		if err := tx.UpdateServer(ctx, &srv); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, actionServerUpdate, srv.ID, map[string]any{
			"version": srv.Version, "changes": changes(serverFields(before), serverFields(srv)),
		})
	})
	if err != nil {
		return s.updateServerError(ctx, srv, version, err)
	}
	s.redeploy(c, srv.ID)
	return s.writeServer(c, http.StatusOK, srv)
}

// check validates the fields given, normalizing the hosts.
func (r *updateServerRequest) check() error {
	if r.Name != nil {
		if err := checkText("name", *r.Name, maxTextName, true); err != nil {
			return err
		}
	}
	if r.Description != nil {
		if err := checkText("description", *r.Description, maxDescription, false); err != nil {
			return err
		}
	}
	if r.AllowedHosts != nil {
		hosts, err := checkHosts("allowed_hosts", *r.AllowedHosts)
		if err != nil {
			return err
		}
		*r.AllowedHosts = hosts
	}
	return nil
}

func (r *updateServerRequest) applyTo(srv *store.Server) {
	if r.Name != nil {
		srv.Name = *r.Name
	}
	if r.Description != nil {
		srv.Description = *r.Description
	}
	if r.AllowedHosts != nil {
		srv.AllowedHosts = *r.AllowedHosts
	}
	if r.RecordPayloads != nil {
		srv.RecordPayloads = *r.RecordPayloads
	}
}

// updateServerError answers a failed update: a stale version, a name in
// use, or a server deleted meanwhile.
func (s *Server) updateServerError(ctx context.Context, srv store.Server, version int64, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("there is no server %s", srv.ID)
	}
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	current, rerr := s.store.Server(ctx, srv.CustomerID, srv.ID)
	if rerr != nil {
		return rerr
	}
	if current.Version != version {
		e := conflict("server %s changed since version %d: it is at version %d; read it again and retry", srv.ID, version, current.Version)
		e.Fields = map[string]any{"current_version": current.Version}
		return e
	}
	return conflict("a server named %q exists", srv.Name)
}

// serverFields are the fields of a server its audit records compare.
func serverFields(srv store.Server) map[string]any {
	v := viewServer(srv)
	return map[string]any{
		"name": v.Name, "description": v.Description, "allowed_hosts": v.AllowedHosts, "record_payloads": v.RecordPayloads,
	}
}

// requestVersion takes the version an update is for from the body or the
// If-Match header ("3", W/"3" or 3); they must agree when both are given.
func requestVersion(c echo.Context, body *int64) (int64, error) {
	header := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	var fromHeader *int64
	if header != "" {
		tag := strings.Trim(strings.TrimPrefix(header, "W/"), `"`)
		n, err := strconv.ParseInt(tag, 10, 64)
		if err != nil || n < 1 {
			return 0, badRequest("If-Match must be the server's version as returned in its ETag, such as \"3\"")
		}
		fromHeader = &n
	}
	switch {
	case body != nil && *body < 1:
		return 0, badRequest("version must be 1 or more")
	case body != nil && fromHeader != nil && *body != *fromHeader:
		return 0, badRequest("version %d in the body and %d in If-Match disagree", *body, *fromHeader)
	case body != nil:
		return *body, nil
	case fromHeader != nil:
		return *fromHeader, nil
	}
	return 0, errorf(http.StatusPreconditionRequired, "an update must say which version it changes: give version in the body or an If-Match header with the server's ETag")
}

func (s *Server) deleteServer(c echo.Context) error {
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.DeleteServer(c.Request().Context(), srv.CustomerID, srv.ID); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, store.ActionServerDelete, srv.ID, map[string]any{"name": srv.Name})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("there is no server %s", srv.ID)
		}
		return err
	}
	s.undeploy(c, srv.ID)
	return c.NoContent(http.StatusNoContent)
}
