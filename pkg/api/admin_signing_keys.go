package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
)

const actionSigningKeyRotate = "oauth.signingkey.rotate"

// signingKeyView is an OAuth token signing key; never its private part.
type signingKeyView struct {
	ID        string    `json:"id"`
	Algorithm string    `json:"algorithm"`
	CreatedAt time.Time `json:"created_at"`
	// Current is the key new tokens are signed with; the others still
	// verify tokens they signed until those expire.
	Current bool `json:"current"`
}

func (s *Server) signingKeys(c echo.Context) ([]signingKeyView, error) {
	keys, err := s.store.OAuthSigningKeys(c.Request().Context())
	if err != nil {
		return nil, err
	}
	out := make([]signingKeyView, 0, len(keys))
	for i, k := range keys {
		out = append(out, signingKeyView{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt.UTC(), Current: i == 0})
	}
	return out, nil
}

// listSigningKeys lists the keys in the JWKS, newest (current) first.
func (s *Server) listSigningKeys(c echo.Context) error {
	keys, err := s.signingKeys(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list[signingKeyView]{Items: keys})
}

// rotateSigningKeys creates a new signing key, which every node signs with
// within a minute, and retires keys no valid token can still name.
func (s *Server) rotateSigningKeys(c echo.Context) error {
	err := s.inTx(c, func(tx *store.Store) error {
		id, err := oauth.RotateKeys(c.Request().Context(), tx, s.secrets, s.store.Now())
		if err != nil {
			return err
		}
		return s.audit(c, tx, "", actionSigningKeyRotate, id, nil)
	})
	if err != nil {
		return err
	}
	keys, err := s.signingKeys(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, list[signingKeyView]{Items: keys})
}
