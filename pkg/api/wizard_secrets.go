package api

import (
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/wizard"
)

type wizardSecretRequest struct {
	Version *int64 `json:"version"`
	// Value is the secret; empty removes it. It is never sent back.
	Value string `json:"value"`
}

// setWizardSecret stores the value of a secret a tool of the session
// declares, so its sample calls and playground calls can use it and a
// deploy sets it on the server. The answer is the session, which names
// the secrets that have a value and never shows one.
func (s *Server) setWizardSecret(c echo.Context) error {
	var req wizardSecretRequest
	return s.wizardStep(c, &req, &req.Version, 200, func(w *wizard.Wizard, customer, id string, v int64) (*wizard.Session, error) {
		return w.SetSecret(c.Request().Context(), customer, id, v, c.Param("name"), req.Value)
	})
}
