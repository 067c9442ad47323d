package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/store"
)

type createKeyRequest struct {
	Name      string     `json:"name"`
	ServerID  *string    `json:"server_id"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) createKey(c echo.Context) error {
	var req createKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkText("name", req.Name, maxTextName, false); err != nil {
		return err
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(s.store.Now()) {
		return badRequest("expires_at must be in the future")
	}
	cust, err := s.customer(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if req.ServerID != nil {
		if err := checkParam("server_id", *req.ServerID); err != nil {
			return err
		}
		if _, err := s.store.Server(ctx, cust.ID, *req.ServerID); errors.Is(err, store.ErrNotFound) {
			return unprocessable("customer %s has no server %s", cust.ID, *req.ServerID)
		} else if err != nil {
			return err
		}
	}
	secret := apikey.New()
	key := store.APIKey{
		CustomerID: cust.ID, ServerID: req.ServerID, Name: req.Name,
		Prefix: secret[:apikey.PrefixLength], Hash: store.HashAPIKey(secret), ExpiresAt: req.ExpiresAt,
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.CreateAPIKey(ctx, &key); err != nil {
			return err
		}
		return s.audit(c, tx, cust.ID, store.ActionAPIKeyCreate, key.ID, map[string]any{
			"prefix": key.Prefix, "name": key.Name, "server_id": key.ServerID, "expires_at": key.ExpiresAt,
		})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) && req.ServerID != nil { // the server was deleted meanwhile
			return unprocessable("customer %s has no server %s", cust.ID, *req.ServerID)
		}
		return err
	}
	view := viewAPIKey(key)
	view.Key = secret // shown this once; only its hash is kept
	return c.JSON(http.StatusCreated, view)
}

func (s *Server) listKeys(c echo.Context) error {
	cust, err := s.customer(c)
	if err != nil {
		return err
	}
	keys, err := s.store.ListAPIKeys(c.Request().Context(), cust.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewAPIKeys(keys))
}

func (s *Server) revokeKey(c echo.Context) error {
	cust, err := s.customer(c)
	if err != nil {
		return err
	}
	id := c.Param("key")
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.RevokeAPIKey(c.Request().Context(), cust.ID, id); err != nil {
			return err
		}
		return s.audit(c, tx, cust.ID, store.ActionAPIKeyRevoke, id, nil)
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("customer %s has no API key %s", cust.ID, id)
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
