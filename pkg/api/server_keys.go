package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/store"
)

// Keys of one server: the credentials an MCP client uses at
// /mcp/{server} when it does not sign in with OAuth. A key made here is
// scoped to its server, so it cannot reach the user API or another server:
// an owner hands it to a client without handing over the account.

type createServerKeyRequest struct {
	Name string `json:"name"`
	// Tools limits the key to these tools of the server (per-tool
	// authorization); absent: every tool, including those added later.
	// Raw, so that an explicit null is refused rather than read as absent.
	Tools json.RawMessage `json:"tools"`
}

// maxKeyTools bounds a key's tool list: a server has at most this many
// tools worth naming one by one.
const maxKeyTools = 256

// checkKeyTools validates a key's tool list: names as tools are named,
// none twice, at least one (an empty list would be a key for nothing).
// Names need not be deployed yet: a key may be made before its tool.
func checkKeyTools(raw json.RawMessage) (store.StringList, error) {
	if raw == nil {
		return nil, nil
	}
	var tools []string
	if err := json.Unmarshal(raw, &tools); err != nil || len(tools) == 0 || len(tools) > maxKeyTools {
		return nil, badRequest("tools: list 1 to %d tool names, or leave tools out for a key good for every tool", maxKeyTools)
	}
	seen := map[string]bool{}
	for _, name := range tools {
		if err := checkToolName("tools", name); err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, badRequest("tools: %q is listed twice", name)
		}
		seen[name] = true
	}
	return store.StringList(tools), nil
}

func (s *Server) createServerKey(c echo.Context) error {
	var req createServerKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkText("name", req.Name, maxTextName, false); err != nil {
		return err
	}
	tools, err := checkKeyTools(req.Tools)
	if err != nil {
		return err
	}
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	secret := apikey.New()
	key := store.APIKey{CustomerID: srv.CustomerID, ServerID: &srv.ID, Name: req.Name,
		Prefix: secret[:apikey.PrefixLength], Hash: store.HashAPIKey(secret), Tools: tools}
	if p := caller(c); p.UserID != "" {
		key.UserID = &p.UserID
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.CreateAPIKey(ctx, &key); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, store.ActionAPIKeyCreate, key.ID, map[string]any{
			"prefix": key.Prefix, "name": key.Name, "server_id": srv.ID, "tools": key.Tools,
		})
	})
	if errors.Is(err, store.ErrNotFound) { // the server was deleted meanwhile
		return notFound("there is no server %s", srv.ID)
	}
	if err != nil {
		return err
	}
	view := viewAPIKey(key)
	view.Key = secret // shown this once; only its hash is kept
	return c.JSON(http.StatusCreated, view)
}

// serverKeys are the keys of the customer scoped to srv.
func (s *Server) serverKeys(c echo.Context, srv store.Server) ([]store.APIKey, error) {
	keys, err := s.store.ListAPIKeys(c.Request().Context(), srv.CustomerID)
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if k.ServerID != nil && *k.ServerID == srv.ID {
			out = append(out, k)
		}
	}
	return out, nil
}

func (s *Server) listServerKeys(c echo.Context) error {
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	keys, err := s.serverKeys(c, srv)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewAPIKeys(keys))
}

func (s *Server) revokeServerKey(c echo.Context) error {
	srv, err := s.server(c)
	if err != nil {
		return err
	}
	keys, err := s.serverKeys(c, srv)
	if err != nil {
		return err
	}
	id := c.Param("key")
	found := false
	for _, k := range keys {
		found = found || k.ID == id
	}
	if !found {
		return notFound("server %s has no API key %s", srv.ID, id)
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.RevokeAPIKey(c.Request().Context(), srv.CustomerID, id); err != nil {
			return err
		}
		return s.audit(c, tx, srv.CustomerID, store.ActionAPIKeyRevoke, id, map[string]any{"server_id": srv.ID})
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("server %s has no API key %s", srv.ID, id)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
