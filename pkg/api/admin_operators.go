package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
)

// actionUserOperator records that a user was made an operator, or was one
// no longer.
const actionUserOperator = "user.operator"

// operatorUserView is a user as the operator endpoints answer it.
type operatorUserView struct {
	ID          string `json:"id"`
	CustomerID  string `json:"customer_id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Operator    bool   `json:"operator"`
}

// grantOperator makes the user an operator account: it signs in as itself
// and may use the operator API and pages, its actions audited under its
// name rather than the anonymous operator token's.
func (s *Server) grantOperator(c echo.Context) error { return s.setOperator(c, true) }

// revokeOperator makes an operator account an ordinary user again.
func (s *Server) revokeOperator(c echo.Context) error { return s.setOperator(c, false) }

func (s *Server) setOperator(c echo.Context, on bool) error {
	ctx := c.Request().Context()
	u, err := s.userByRef(c, c.Param("user"))
	if err != nil {
		return err
	}
	if u.Operator != on {
		u.Operator = on
		err = s.inTx(c, func(tx *store.Store) error {
			if err := tx.UpdateUser(ctx, &u); err != nil {
				return err
			}
			return s.audit(c, tx, u.CustomerID, actionUserOperator, u.ID, map[string]any{"operator": on})
		})
		if err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, operatorUserView{ID: u.ID, CustomerID: u.CustomerID, Email: u.Email, DisplayName: u.DisplayName, Operator: u.Operator})
}

// userByRef finds a user by ID or, for a reference with an @, by email
// address, which must name exactly one user.
func (s *Server) userByRef(c echo.Context, ref string) (store.User, error) {
	ctx := c.Request().Context()
	if !strings.Contains(ref, "@") {
		u, err := s.store.User(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			return u, notFound("there is no user %s", ref)
		}
		return u, err
	}
	users, err := s.store.UsersByEmail(ctx, ref)
	switch {
	case err != nil:
		return store.User{}, err
	case len(users) == 0:
		return store.User{}, notFound("no user has the email address %s", ref)
	case len(users) > 1:
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		return store.User{}, conflict("%d users have the email address %s; name one by its ID: %s", len(users), ref, strings.Join(ids, ", "))
	}
	return users[0], nil
}
