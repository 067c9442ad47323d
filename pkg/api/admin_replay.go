package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/sandbox"
)

// replayView is how a replay went, for an operator: the comparison, never
// the call's arguments or result.
type replayView struct {
	Execution       int64    `json:"execution"`
	Exact           bool     `json:"exact"`
	ResultMatches   bool     `json:"result_matches"`
	RecordedOutcome string   `json:"recorded_outcome"`
	Outcome         string   `json:"outcome"`
	RecordedFuel    uint64   `json:"recorded_fuel"`
	Fuel            uint64   `json:"fuel"`
	Warm            bool     `json:"warm"`
	Truncated       bool     `json:"truncated"`
	Divergences     []string `json:"divergences"`
	EnvDiffers      []string `json:"env_differs"`
	Secrets         []string `json:"secrets"`
}

// replayExecution re-runs a recorded call on this node's sandbox, through
// its admission like any call, with the recorded env (kiln replay is the
// same from a terminal; pkg/mcphost/replay.go).
func (s *Server) replayExecution(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("execution"), 10, 64)
	if err != nil || id <= 0 {
		return badRequest("execution must be an execution id: a positive number, as the execution log shows")
	}
	r, err := mcphost.Replay(c.Request().Context(), mcphost.ReplayConfig{Store: s.store, Engine: s.engine, Secrets: s.secrets}, id)
	var busy *sandbox.BusyError
	switch {
	case errors.Is(err, mcphost.ErrNoExecution):
		return notFound("%s", err.Error())
	case replayInputProblem(err):
		return unprocessable("%s", err.Error())
	case errors.As(err, &busy):
		c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(busy.RetryAfter.Seconds()))))
		return errorf(http.StatusServiceUnavailable, "this node's sandbox is busy (%s); retry later", busy.Resource)
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, replayView{
		Execution: id, Exact: r.Exact(), ResultMatches: r.ResultMatches,
		RecordedOutcome: r.Execution.Outcome, Outcome: r.Result.Outcome.String(),
		RecordedFuel: r.RecordedFuel, Fuel: r.Fuel, Warm: r.Warm, Truncated: r.Truncated,
		Divergences: nonNil(r.Divergences), EnvDiffers: nonNil(r.EnvDiffers), Secrets: nonNil(r.Secrets),
	})
}

// replayInputProblem reports an error that is the recording's or the
// module's (no recording, an unreadable or foreign-sealed one, a module gone
// or no longer loadable, a request the sandbox refuses): the operator gets
// it as 422 with its message; anything else is the host's, a 500.
func replayInputProblem(err error) bool {
	var badModule *sandbox.BadModuleError
	var badRequest *sandbox.RequestError
	return errors.Is(err, mcphost.ErrNoRecording) || errors.Is(err, mcphost.ErrModuleGone) ||
		errors.Is(err, mcphost.ErrReplayInput) || errors.As(err, &badModule) || errors.As(err, &badRequest)
}

// nonNil makes an absent list an empty one in JSON.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
