package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// Error is an answer other than success: a status, the message of the
// {"error": "..."} body, and optional further fields of the body (the
// problems of refused source, the limit that was crossed). Messages are
// for the caller: say what is wrong and what to change, never echo a
// secret value.
type Error struct {
	Status  int
	Message string
	Fields  map[string]any
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, format, args...)
}

func unprocessable(format string, args ...any) *Error {
	return errorf(http.StatusUnprocessableEntity, format, args...)
}

func notFound(format string, args ...any) *Error { return errorf(http.StatusNotFound, format, args...) }

func conflict(format string, args ...any) *Error { return errorf(http.StatusConflict, format, args...) }

// limitExceeded answers a request that would cross a limit of the
// customer's plan: 403, naming the limit, the plan and its maximum.
func limitExceeded(le *tier.LimitError) *Error {
	return &Error{
		Status:  http.StatusForbidden,
		Message: strings.TrimPrefix(le.Error(), "tier: "),
		Fields:  map[string]any{"limit": string(le.Limit), "plan": le.Plan, "max": le.Max},
	}
}

// handleError is Echo's HTTPErrorHandler: every error becomes a JSON body.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := s.describe(err, c)
	body := map[string]any{}
	for k, v := range e.Fields {
		body[k] = v
	}
	body["error"] = e.Message
	if e.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="kiln"`)
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(e.Status)
	} else {
		werr = c.JSON(e.Status, body)
	}
	if werr != nil {
		s.log.WarnContext(c.Request().Context(), "writing an error response", "path", c.Path(), "error", werr)
	}
}

// describe maps an error to the answer. Errors a handler did not map
// itself fall through to the store's and tier's typed errors, and finally
// to a 500 whose cause is logged, not sent.
func (s *Server) describe(err error, c echo.Context) *Error {
	var (
		apiErr   *Error
		httpErr  *echo.HTTPError
		limitErr *tier.LimitError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &limitErr):
		return limitExceeded(limitErr)
	case errors.As(err, &tooLarge):
		return errorf(http.StatusRequestEntityTooLarge, "the request body is larger than the %d bytes this endpoint accepts", tooLarge.Limit)
	case errors.As(err, &httpErr):
		msg := http.StatusText(httpErr.Code)
		if m, ok := httpErr.Message.(string); ok && m != "" {
			msg = m
		}
		return errorf(httpErr.Code, "%s", msg)
	case errors.Is(err, store.ErrNotFound):
		return notFound("not found")
	case errors.Is(err, store.ErrConflict):
		return conflict("the change conflicts with the current state; read it again and retry")
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, "the request did not finish in time")
	case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
		// The client went away; nobody reads this answer.
		return errorf(http.StatusServiceUnavailable, "the request was canceled")
	}
	s.log.ErrorContext(c.Request().Context(), "internal error", "method", c.Request().Method, "path", c.Path(), "error", err)
	return errorf(http.StatusInternalServerError, "internal error; the server log has the details")
}
