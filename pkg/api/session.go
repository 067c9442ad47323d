package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/websession"
)

type sessionView struct {
	User       userView  `json:"user"`
	CustomerID string    `json:"customer_id"`
	ExpiresAt  time.Time `json:"expires_at"`
	// CSRFToken goes in the X-CSRF-Token header of every request that
	// changes something.
	CSRFToken string `json:"csrf_token"`
}

type userView struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
}

// getSession tells the browser wizard who is signed in and the CSRF token
// its requests must carry. It needs a browser session: an API key has no
// session to describe.
func (s *Server) getSession(c echo.Context) error {
	p := caller(c)
	if p.session == nil {
		return errorf(http.StatusBadRequest, "this request was made with an API key; /session describes a signed-in browser session")
	}
	u := p.user
	return c.JSON(http.StatusOK, sessionView{
		User:       userView{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Role: u.Role},
		CustomerID: p.CustomerID, ExpiresAt: p.session.ExpiresAt.UTC(),
		CSRFToken: websession.CSRFToken(c.Request()),
	})
}
