package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/wizard"
)

// The wizard's routes (/api/v1/wizard/...): a session per description,
// one endpoint per step, and a stream of its progress (wizard_events.go).
// Sessions are the caller's customer's: another customer's is a 404 on
// every route, as if it did not exist. Changes name the version they were
// made against (body or If-Match); a stale one is a 409.

const actionWizardDeploy = "wizard.deploy"

// wizardOrUnavailable is the wizard, or the answer when this node has none.
func (s *Server) wizardOrUnavailable() (*wizard.Wizard, error) {
	if s.wizard == nil {
		return nil, errorf(http.StatusServiceUnavailable, "the wizard is not running on this Kiln node")
	}
	return s.wizard, nil
}

// wizardError maps the wizard's typed errors to answers.
func wizardError(err error) error {
	var (
		conflictErr *wizard.ConflictError
		stateErr    *wizard.StateError
		quotaErr    *wizard.QuotaError
		inputErr    *wizard.InputError
	)
	switch {
	case errors.As(err, &conflictErr):
		e := conflict("%s", strings.TrimPrefix(conflictErr.Error(), "wizard: "))
		e.Fields = map[string]any{"current_version": conflictErr.Current}
		return e
	case errors.As(err, &stateErr):
		e := conflict("%s", strings.TrimPrefix(stateErr.Error(), "wizard: "))
		e.Fields = map[string]any{"state": string(stateErr.State)}
		return e
	case errors.As(err, &quotaErr):
		return &Error{Status: http.StatusTooManyRequests, Message: strings.TrimPrefix(quotaErr.Error(), "wizard: "),
			Fields: map[string]any{"limit": "llm_generations_per_day", "plan": quotaErr.Plan, "max": quotaErr.Max}}
	case errors.As(err, &inputErr):
		return unprocessable("%s", inputErr.Msg)
	case errors.Is(err, wizard.ErrNoLLM):
		return errorf(http.StatusServiceUnavailable, "%s", wizard.NoLLMMessage)
	case errors.Is(err, wizard.ErrNotFound):
		return notFound("%s", strings.TrimPrefix(err.Error(), "wizard: not found: "))
	}
	return buildError(err)
}

func (s *Server) writeWizardSession(c echo.Context, status int, ws *wizard.Session) error {
	c.Response().Header().Set("ETag", etag(ws.Version))
	return c.JSON(status, ws)
}

type createWizardRequest struct {
	Description string `json:"description"`
}

func (s *Server) createWizardSession(c echo.Context) error {
	w, err := s.wizardOrUnavailable()
	if err != nil {
		return err
	}
	var req createWizardRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p := caller(c)
	var user *string
	if p.UserID != "" {
		user = &p.UserID
	}
	ws, err := w.Create(c.Request().Context(), p.CustomerID, user, req.Description)
	if err != nil {
		return wizardError(err)
	}
	c.Response().Header().Set("Location", "/api/v1/wizard/sessions/"+ws.ID)
	return s.writeWizardSession(c, http.StatusCreated, ws)
}

func (s *Server) listWizardSessions(c echo.Context) error {
	w, err := s.wizardOrUnavailable()
	if err != nil {
		return err
	}
	all, err := w.List(c.Request().Context(), caller(c).CustomerID)
	if err != nil {
		return wizardError(err)
	}
	return c.JSON(http.StatusOK, list[*wizard.Session]{Items: all})
}

func (s *Server) getWizardSession(c echo.Context) error {
	w, err := s.wizardOrUnavailable()
	if err != nil {
		return err
	}
	ws, err := w.Get(c.Request().Context(), caller(c).CustomerID, c.Param("session"))
	if err != nil {
		return wizardError(err)
	}
	return s.writeWizardSession(c, http.StatusOK, ws)
}

// wizardStep is the body every step takes: the version it was made at.
type wizardStep struct {
	Version *int64 `json:"version"`
}

func (s *Server) proposeWizard(c echo.Context) error {
	var req wizardStep
	return s.wizardStep(c, &req, &req.Version, http.StatusAccepted, func(w *wizard.Wizard, customer, id string, v int64) (*wizard.Session, error) {
		return w.Propose(c.Request().Context(), customer, id, v)
	})
}

type acceptWizardRequest struct {
	Version *int64        `json:"version"`
	Tools   []wizard.Spec `json:"tools"`
}

func (s *Server) acceptWizard(c echo.Context) error {
	var req acceptWizardRequest
	return s.wizardStep(c, &req, &req.Version, http.StatusOK, func(w *wizard.Wizard, customer, id string, v int64) (*wizard.Session, error) {
		return w.Accept(c.Request().Context(), customer, id, v, req.Tools)
	})
}

type generateWizardRequest struct {
	Version *int64   `json:"version"`
	Tools   []string `json:"tools"`
}

func (s *Server) generateWizard(c echo.Context) error {
	var req generateWizardRequest
	return s.wizardStep(c, &req, &req.Version, http.StatusAccepted, func(w *wizard.Wizard, customer, id string, v int64) (*wizard.Session, error) {
		return w.Generate(c.Request().Context(), customer, id, v, req.Tools)
	})
}

type wizardSourceRequest struct {
	Version *int64            `json:"version"`
	Files   map[string]string `json:"files"`
}

func (s *Server) setWizardToolSource(c echo.Context) error {
	var req wizardSourceRequest
	return s.wizardStep(c, &req, &req.Version, http.StatusOK, func(w *wizard.Wizard, customer, id string, v int64) (*wizard.Session, error) {
		if len(req.Files) == 0 {
			return nil, badRequest("files is required: the tool's Go source, by file name")
		}
		for name := range req.Files {
			if err := checkParam("file name", name); err != nil {
				return nil, unprocessable("the source was refused: file name %q is not a plain .go file name", name)
			}
		}
		return w.SetSource(c.Request().Context(), customer, id, c.Param("tool"), v, req.Files)
	})
}

// wizardStep decodes a step's body into req, takes its version (body or
// If-Match), runs the step and answers with the session.
func (s *Server) wizardStep(c echo.Context, req any, version **int64, status int,
	step func(w *wizard.Wizard, customer, id string, v int64) (*wizard.Session, error)) error {
	w, err := s.wizardOrUnavailable()
	if err != nil {
		return err
	}
	if err := decodeJSON(c, req); err != nil {
		return err
	}
	v, err := requestVersion(c, *version)
	if err != nil {
		return err
	}
	ws, err := step(w, caller(c).CustomerID, c.Param("session"), v)
	if err != nil {
		return wizardError(err)
	}
	return s.writeWizardSession(c, status, ws)
}

type runWizardToolRequest struct {
	Arguments json.RawMessage `json:"arguments"`
}

// runWizardToolView is a playground call's outcome, as the wizard words it:
// the tool's result document (null when the sandbox stopped the call) and
// what went wrong, if anything.
type runWizardToolView struct {
	Outcome    string          `json:"outcome"`
	Output     json.RawMessage `json:"output"`
	Detail     string          `json:"detail,omitempty"`
	DurationMS int64           `json:"duration_ms"`
	FuelUsed   uint64          `json:"fuel_used"`
	Console    string          `json:"console,omitempty"`
}

func (s *Server) runWizardTool(c echo.Context) error {
	w, err := s.wizardOrUnavailable()
	if err != nil {
		return err
	}
	var req runWizardToolRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Arguments) == 0 {
		req.Arguments = json.RawMessage(`{}`)
	}
	res, err := w.RunTool(c.Request().Context(), caller(c).CustomerID, c.Param("session"), c.Param("tool"), req.Arguments)
	if err != nil {
		return wizardError(err)
	}
	return c.JSON(http.StatusOK, runWizardToolView{Outcome: res.Outcome.String(), Output: res.Output, Detail: res.Detail,
		DurationMS: res.Duration.Milliseconds(), FuelUsed: res.FuelUsed, Console: res.Console})
}

type deployWizardRequest struct {
	Version    *int64   `json:"version"`
	ServerID   string   `json:"server_id"`
	ServerName string   `json:"server_name"`
	Tools      []string `json:"tools"`
}

// deployWizardView is a deploy's answer: the session and where its tools went.
type deployWizardView struct {
	Session *wizard.Session `json:"session"`
	Server  serverView      `json:"server"`
	Created bool            `json:"created"`
	Tools   []string        `json:"tools"`
	MCPPath string          `json:"mcp_path"`
}

func (s *Server) deployWizard(c echo.Context) error {
	w, err := s.wizardOrUnavailable()
	if err != nil {
		return err
	}
	var req deployWizardRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	v, err := requestVersion(c, req.Version)
	if err != nil {
		return err
	}
	if req.ServerName != "" {
		if err := checkText("server_name", req.ServerName, maxTextName, false); err != nil {
			return err
		}
	}
	p := caller(c)
	d, err := w.Deploy(c.Request().Context(), p.CustomerID, c.Param("session"), wizard.DeployRequest{
		Version: v, ServerID: req.ServerID, ServerName: req.ServerName, Tools: req.Tools, Actor: actor(c),
		Audit: func(tx *store.Store, srv store.Server, created bool, tools []store.Tool) error {
			names := make([]string, 0, len(tools))
			for _, t := range tools {
				names = append(names, t.Name)
			}
			return s.audit(c, tx, p.CustomerID, actionWizardDeploy, srv.ID, map[string]any{
				"session": c.Param("session"), "server": srv.ID, "created": created, "tools": names})
		},
	})
	if err != nil {
		return wizardError(err)
	}
	s.redeploy(c, d.Server.ID)
	names := make([]string, 0, len(d.Tools))
	for _, t := range d.Tools {
		names = append(names, t.Name)
	}
	c.Response().Header().Set("ETag", etag(d.Session.Version))
	return c.JSON(http.StatusOK, deployWizardView{Session: d.Session, Server: viewServer(d.Server), Created: d.Created,
		Tools: names, MCPPath: "/mcp/" + d.Server.ID})
}
