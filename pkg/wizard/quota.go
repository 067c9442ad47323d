package wizard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// dayStart is the start of the UTC day of now: the quota counts
// generations since then.
func dayStart(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// CheckQuota says whether the customer has a generation left today: nil,
// or a *QuotaError naming the plan. The reservation before each call is
// the check that counts; this one refuses a step early, with a 429.
func (w *Wizard) CheckQuota(ctx context.Context, customerID string) error {
	plan, err := w.cfg.Catalog.ForCustomer(ctx, customerID)
	if err != nil {
		return err
	}
	n, err := w.cfg.Store.CountWizardGenerations(ctx, customerID, dayStart(w.cfg.Store.Now()))
	if err != nil {
		return err
	}
	return quotaCheck(plan)(n)
}

func quotaCheck(plan tier.Plan) store.LimitCheck {
	return func(n int) error {
		if n >= plan.LLMGenerationsPerDay {
			return &QuotaError{Plan: plan.Name, Max: plan.LLMGenerationsPerDay}
		}
		return nil
	}
}

// question is one LLM call of the wizard.
type question struct {
	customer, session, tool string
	purpose, promptVersion  string
	req                     llm.Request
}

// ask reserves a generation of the customer's quota, asks the LLM and
// records who answered and what it cost. Every call the wizard makes goes
// through here, so none escapes the quota.
func (w *Wizard) ask(ctx context.Context, q question) (llm.Response, *Generation, error) {
	if w.cfg.LLM == nil {
		return llm.Response{}, nil, ErrNoLLM
	}
	plan, err := w.cfg.Catalog.ForCustomer(ctx, q.customer)
	if err != nil {
		return llm.Response{}, nil, err
	}
	g := store.WizardGeneration{CustomerID: q.customer, SessionID: q.session, Tool: q.tool, Purpose: q.purpose, PromptVersion: q.promptVersion}
	if err := w.cfg.Store.ReserveWizardGeneration(ctx, &g, dayStart(w.cfg.Store.Now()), quotaCheck(plan)); err != nil {
		return llm.Response{}, nil, err
	}
	q.req.Meta = llm.Meta{Customer: q.customer, Session: q.session, Purpose: q.purpose, PromptVersion: q.promptVersion}
	resp, err := w.cfg.LLM.Complete(ctx, q.req)
	g.Provider, g.Model = resp.Provider, resp.Model
	g.InputTokens, g.OutputTokens = int64(resp.Usage.InputTokens), int64(resp.Usage.OutputTokens)
	g.Outcome = "ok"
	var le *llm.Error
	switch {
	case errors.As(err, &le):
		g.Outcome, g.Provider, g.Model = le.Kind.String(), le.Provider, le.Model
	case err != nil:
		g.Outcome = "error"
	}
	// Recorded even when ctx ended: the call was made and counts.
	if ferr := w.cfg.Store.FinishWizardGeneration(context.WithoutCancel(ctx), g); ferr != nil {
		w.log.WarnContext(ctx, "wizard: recording a generation", "session", q.session, "error", ferr)
	}
	if err != nil {
		return llm.Response{}, nil, fmt.Errorf("wizard: asking the LLM (%s): %w", q.purpose, err)
	}
	return resp, &Generation{PromptVersion: q.promptVersion, Provider: resp.Provider, Model: resp.Model}, nil
}
