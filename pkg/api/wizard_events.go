package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/wizard"
)

// streamWizard sends a session's progress as Server-Sent Events: each
// event's id is its sequence number, so a client reconnecting with
// Last-Event-ID (or ?after=) gets exactly what it missed. The stream ends
// when the session rests (nothing in progress), after an "end" event.
func (s *Server) streamWizard(c echo.Context) error {
	w, err := s.wizardOrUnavailable()
	if err != nil {
		return err
	}
	after, err := lastEventID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	customer, id := caller(c).CustomerID, c.Param("session")
	// Answer a missing session with a 404, before the stream starts.
	if _, err := w.Get(ctx, customer, id); err != nil {
		return wizardError(err)
	}
	res := c.Response()
	res.Header().Set("Content-Type", "text/event-stream")
	res.Header().Set("Cache-Control", "no-cache")
	res.Header().Set("X-Accel-Buffering", "no")
	res.WriteHeader(http.StatusOK)
	res.Flush()
	err = w.Stream(ctx, customer, id, after, func(e wizard.Event) error {
		if _, err := fmt.Fprintf(res, "id: %d\nevent: %s\ndata: {\"seq\":%d,\"tool\":%s,\"data\":%s}\n\n",
			e.Seq, e.Kind, e.Seq, strconv.Quote(e.Tool), e.Data); err != nil {
			return err
		}
		res.Flush()
		return nil
	})
	if err != nil {
		// The status is sent: say it in the stream, and log Kiln's failures.
		if ctx.Err() == nil {
			s.log.WarnContext(c.Request().Context(), "wizard event stream", "session", id, "error", err)
		}
		return nil
	}
	_, _ = fmt.Fprint(res, "event: end\ndata: {}\n\n")
	res.Flush()
	return nil
}

// lastEventID is where a stream resumes: Last-Event-ID, else ?after=, else 0.
func lastEventID(c echo.Context) (int64, error) {
	v := strings.TrimSpace(c.Request().Header.Get("Last-Event-ID"))
	if v == "" {
		v = c.QueryParam("after")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("Last-Event-ID (or after) must be the id of an event of this stream, a whole number")
	}
	return n, nil
}
