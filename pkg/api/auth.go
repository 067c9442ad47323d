package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// APIKeyPrefix starts every customer API key.
const APIKeyPrefix = "kiln_"

// operatorActor is the audit actor of operator API requests. There is one
// operator credential, so there is nothing finer to record yet.
const operatorActor = "operator"

// touchEvery is how stale a key's last-used time may get before a request
// updates it: a write per request would make every read a write.
const touchEvery = time.Minute

// principal is who a user API request acts for: an API key (KeyID) or a
// signed-in user of the browser wizard (UserID).
type principal struct {
	CustomerID string
	KeyID      string
	UserID     string
	// ServerID, when set, limits the key to one server.
	ServerID *string
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

// bearer returns the token of an "Authorization: Bearer ..." header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// requireOperator admits requests bearing the operator token. Both sides
// are hashed before the constant-time comparison, so neither the token's
// bytes nor its length leak through timing.
func (s *Server) requireOperator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := bearer(c.Request())
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
		if _, ok := bearer(r); !ok && s.sessions != nil && websession.HasCookie(r) {
			return s.admitSession(c, next)
		}
		return s.admitAPIKey(c, next)
	}
}

func (s *Server) admitSession(c echo.Context, next echo.HandlerFunc) error {
	r := c.Request()
	sess, user, err := s.sessions.Lookup(r)
	if errors.Is(err, websession.ErrNoSession) {
		return unauthorized("the browser session has expired or ended; sign in again at /oauth/login")
	}
	if err != nil {
		return err
	}
	if !safeMethod(r.Method) && !websession.CheckCSRF(r) {
		return errorf(http.StatusForbidden, "a request from a browser session needs the session's CSRF token in the %s header (GET /api/v1/session returns it)", websession.CSRFHeader)
	}
	c.Set(principalKey, principal{CustomerID: user.CustomerID, UserID: user.ID, session: &sess, user: &user})
	c.Set(actorKey, "user:"+user.ID)
	return next(c)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *Server) admitAPIKey(c echo.Context, next echo.HandlerFunc) error {
	token, ok := bearer(c.Request())
	if !ok {
		return unauthorized("this endpoint needs an API key (Authorization: Bearer kiln_...) or a signed-in browser session")
	}
	if !strings.HasPrefix(token, APIKeyPrefix) {
		return unauthorized("the API key is not valid")
	}
	ctx := c.Request().Context()
	// The lookup is by hash; an index lookup on a SHA-256 of a key with
	// 130 bits of entropy reveals nothing useful through timing.
	key, err := s.store.APIKeyByHash(ctx, store.HashAPIKey(token))
	if errors.Is(err, store.ErrNotFound) {
		return unauthorized("the API key is not valid")
	}
	if err != nil {
		return err
	}
	now := s.now()
	if !key.Usable(now) {
		return unauthorized("the API key is revoked or expired")
	}
	if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > touchEvery {
		if err := s.store.TouchAPIKey(ctx, key.ID, now); err != nil {
			s.log.Warn("recording API key use", "key", key.ID, "error", err)
		}
	}
	c.Set(principalKey, principal{CustomerID: key.CustomerID, KeyID: key.ID, ServerID: key.ServerID})
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

// canReachServer says whether the caller's key may act on server id: a key
// limited to one server reaches only that one.
func (p principal) canReachServer(id string) bool {
	return p.ServerID == nil || *p.ServerID == id
}

// accountWide refuses requests a server-scoped key may not make.
func (p principal) accountWide() error {
	if p.ServerID != nil {
		return errorf(http.StatusForbidden, "this API key is limited to server %s; this request needs a key for the whole account", *p.ServerID)
	}
	return nil
}
