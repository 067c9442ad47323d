package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
)

// Audit actions of operator-registered OAuth clients.
const (
	actionOAuthClientCreate = "oauthclient.create"
	actionOAuthClientDelete = "oauthclient.delete"
)

// registrationFilters are the values of GET /oauth-clients?registration=.
var registrationFilters = []string{store.OAuthClientOperator, store.OAuthClientDynamic, store.OAuthClientMetadata, "all"}

type createOAuthClientRequest struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
	Confidential bool     `json:"confidential"`
}

// oauthClientView is an OAuth client; never its secret's hash.
type oauthClientView struct {
	ClientID                string    `json:"client_id"`
	Name                    string    `json:"name"`
	RedirectURIs            []string  `json:"redirect_uris"`
	Registration            string    `json:"registration"`
	Confidential            bool      `json:"confidential"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	CreatedAt               time.Time `json:"created_at"`
	// ClientSecret is a confidential client's secret, present only in the
	// answer that created it.
	ClientSecret string `json:"client_secret,omitempty"`
}

func viewOAuthClient(c store.OAuthClient) (oauthClientView, error) {
	uris, err := oauth.ListedRedirectURIs(c)
	if err != nil {
		return oauthClientView{}, err
	}
	if uris == nil {
		uris = []string{}
	}
	return oauthClientView{
		ClientID: c.ID, Name: c.Name, RedirectURIs: uris, Registration: c.Registration, Confidential: c.Confidential(),
		TokenEndpointAuthMethod: oauth.TokenEndpointAuthMethod(c), CreatedAt: c.CreatedAt,
	}, nil
}

// createOAuthClient registers a static client: public (PKCE) or
// confidential (a secret, shown in this answer only, and PKCE).
func (s *Server) createOAuthClient(c echo.Context) error {
	var req createOAuthClientRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkText("name", req.Name, maxTextName, true); err != nil {
		return err
	}
	if len(req.RedirectURIs) == 0 {
		return badRequest("redirect_uris must list the client's redirect URIs (https, or http on a loopback address)")
	}
	var (
		cl     store.OAuthClient
		secret string
	)
	err := s.inTx(c, func(tx *store.Store) error {
		var err error
		cl, secret, err = oauth.CreateStaticClient(c.Request().Context(), tx, req.Name, req.RedirectURIs, req.Confidential)
		if err != nil {
			return err
		}
		return s.audit(c, tx, "", actionOAuthClientCreate, cl.ID, map[string]any{
			"name": cl.Name, "redirect_uris": req.RedirectURIs, "confidential": cl.Confidential(),
		})
	})
	if bad, ok := errors.AsType[*oauth.ClientMetadataError](err); ok {
		return badRequest("%s", bad.Reason)
	}
	if err != nil {
		return err
	}
	view, err := viewOAuthClient(cl)
	if err != nil {
		return err
	}
	view.ClientSecret = secret // shown this once; only its hash is kept
	return c.JSON(http.StatusCreated, view)
}

// listOAuthClients lists clients, newest first: the operator's by default,
// or those registered another way (?registration=dynamic, metadata, all).
func (s *Server) listOAuthClients(c echo.Context) error {
	registration := c.QueryParam("registration")
	switch {
	case registration == "":
		registration = store.OAuthClientOperator
	case !slices.Contains(registrationFilters, registration):
		return badRequest("query parameter registration is %q; it must be operator, dynamic, metadata or all", registration)
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	if limit > store.MaxPage {
		return badRequest("limit is %d; at most %d clients are returned at once", limit, store.MaxPage)
	}
	f := store.OAuthClientFilter{Registration: registration, Limit: int(limit)}
	if registration == "all" {
		f.Registration = ""
	}
	clients, err := s.store.ListOAuthClients(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[oauthClientView]{Items: make([]oauthClientView, 0, len(clients))}
	for _, cl := range clients {
		v, err := viewOAuthClient(cl)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, v)
	}
	return c.JSON(http.StatusOK, out)
}

// oauthClient reads the :client of the path.
func (s *Server) oauthClient(c echo.Context) (store.OAuthClient, error) {
	id := c.Param("client")
	cl, err := s.store.OAuthClient(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OAuthClient{}, notFound("there is no OAuth client %s", id)
	}
	return cl, err
}

func (s *Server) getOAuthClient(c echo.Context) error {
	cl, err := s.oauthClient(c)
	if err != nil {
		return err
	}
	view, err := viewOAuthClient(cl)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// deleteOAuthClient deletes a client, whoever registered it, with its
// pending authorizations and its tokens: they stop working at once.
func (s *Server) deleteOAuthClient(c echo.Context) error {
	cl, err := s.oauthClient(c)
	if err != nil {
		return err
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.DeleteOAuthClient(c.Request().Context(), cl.ID); err != nil {
			return err
		}
		return s.audit(c, tx, "", actionOAuthClientDelete, cl.ID, map[string]any{"name": cl.Name, "registration": cl.Registration})
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("there is no OAuth client %s", cl.ID)
	} else if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
