package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/apikey"
	"github.com/kilnhq/kiln/pkg/auth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// operatorActor is the audit actor of operator API requests made with the
// operator token, which names nobody. A signed-in operator account acts as
// "user:ID".
const operatorActor = "operator"

// principal is who a user API request acts for: an API key (KeyID) or a
// signed-in user of the browser wizard (UserID), with the role the policy
// (policy.go) judges its requests by.
type principal struct {
	CustomerID string
	KeyID      string
	UserID     string
	// ServerID is set for a key scoped to one server's MCP endpoint: the
	// policy refuses such a key every user API request.
	ServerID *string
	role     role
	// session and user are set for a browser session.
	session *store.UserSession
	user    *store.User
}

// Context keys.
const (
	principalKey = "kiln.principal"
	actorKey     = "kiln.actor"
)

func unauthorized(msg string) *Error { return errorf(http.StatusUnauthorized, "%s", msg) }

// requireOperator admits requests bearing the operator token, or the
// browser session of a user flagged operator (with the session's CSRF
// token on changes, as for the user API). Both sides of the token are
// hashed before the constant-time comparison, so neither the token's bytes
// nor its length leak through timing.
func (s *Server) requireOperator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := auth.Bearer(c.Request())
		if !ok && s.sessions != nil && websession.HasCookie(c.Request()) {
			return s.admitOperatorSession(c, next)
		}
		if !ok {
			return unauthorized("the operator API needs the operator token: Authorization: Bearer <KILN_OPERATOR_TOKEN>")
		}
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(got[:], s.operatorHash[:]) != 1 {
			return unauthorized("the operator token is not valid")
		}
		c.Set(actorKey, operatorActor)
		return next(c)
	}
}

// requireCaller admits requests bearing a usable customer API key or, for
// the browser wizard, a signed-in browser session. A request with a session
// and no API key that may change something must carry the session's CSRF
// token: the cookie goes with requests another site makes, the token does
// not.
func (s *Server) requireCaller(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if _, ok := auth.Bearer(r); !ok && s.sessions != nil && websession.HasCookie(r) {
			return s.admitSession(c, next)
		}
		return s.admitAPIKey(c, next)
	}
}

// browserUser is the signed-in user of a browser session; a request
// that may change something must carry the session's CSRF token.
func (s *Server) browserUser(r *http.Request) (store.UserSession, store.User, error) {
	sess, user, err := s.sessions.Lookup(r)
	if errors.Is(err, websession.ErrNoSession) {
		return sess, user, unauthorized("the browser session has expired or ended; sign in again at /oauth/login")
	}
	if err != nil {
		return sess, user, err
	}
	if !safeMethod(r.Method) && !websession.CheckCSRF(r) {
		return sess, user, errorf(http.StatusForbidden, "a request from a browser session needs the session's CSRF token in the %s header (GET /api/v1/session returns it)", websession.CSRFHeader)
	}
	return sess, user, nil
}

func (s *Server) admitSession(c echo.Context, next echo.HandlerFunc) error {
	sess, user, err := s.browserUser(c.Request())
	if err != nil {
		return err
	}
	c.Set(principalKey, principal{CustomerID: user.CustomerID, UserID: user.ID, role: parseRole(user.Role), session: &sess, user: &user})
	c.Set(actorKey, "user:"+user.ID)
	return next(c)
}

// admitOperatorSession admits the browser session of an operator account;
// the audit log names the user.
func (s *Server) admitOperatorSession(c echo.Context, next echo.HandlerFunc) error {
	_, user, err := s.browserUser(c.Request())
	if err != nil {
		return err
	}
	if !user.Operator {
		return errorf(http.StatusForbidden, "this account is not an operator; an operator makes it one with kiln admin set-operator, or use the operator token")
	}
	c.Set(actorKey, "user:"+user.ID)
	return next(c)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *Server) admitAPIKey(c echo.Context, next echo.HandlerFunc) error {
	token, ok := auth.Bearer(c.Request())
	if !ok {
		return unauthorized("this endpoint needs an API key (Authorization: Bearer kiln_...) or a signed-in browser session")
	}
	key, err := apikey.Check(c.Request().Context(), s.store, s.log, token)
	switch {
	case errors.Is(err, apikey.ErrInvalid):
		return unauthorized("the API key is not valid")
	case errors.Is(err, apikey.ErrUnusable):
		return unauthorized("the API key is revoked or expired")
	case err != nil:
		return err
	}
	// An account key is the account's own credential, issued by the
	// operator: it acts as an owner.
	c.Set(principalKey, principal{CustomerID: key.CustomerID, KeyID: key.ID, ServerID: key.ServerID, role: roleOwner})
	c.Set(actorKey, "key:"+key.ID)
	return next(c)
}

// caller is the principal requireCaller admitted.
func caller(c echo.Context) principal {
	p, _ := c.Get(principalKey).(principal)
	return p
}

// actor names who made the request, for the audit log.
func actor(c echo.Context) string {
	a, _ := c.Get(actorKey).(string)
	return a
}
