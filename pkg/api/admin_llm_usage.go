package api

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
)

// defaultUsageDays is the window of the LLM usage view without ?since=.
const defaultUsageDays = 30

// llmUsageRow is one customer's LLM use on one UTC day through one
// provider and model.
type llmUsageRow struct {
	CustomerID   string `json:"customer_id"`
	Day          string `json:"day"`
	Provider     string `json:"provider"`
	Model        string `json:"model"`
	Calls        int    `json:"calls"`
	Failed       int    `json:"failed"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
}

// llmUsageView is the operator's view of the wizard's LLM use.
type llmUsageView struct {
	Since time.Time     `json:"since"`
	Items []llmUsageRow `json:"items"`
	Total llmUsageRow   `json:"total"`
	// Truncated says the window held more generations than one answer
	// reads (store.MaxGenerationRows): narrow it with since or customer.
	Truncated bool `json:"truncated"`
}

// listLLMUsage sums the wizard's recorded generations per customer, UTC
// day, provider and model, since ?since= (a date or an RFC 3339 time;
// default 30 days ago), for one ?customer= or all.
func (s *Server) listLLMUsage(c echo.Context) error {
	since, err := usageSince(c.QueryParam("since"), s.store.Now())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	customer := c.QueryParam("customer")
	if customer != "" {
		if _, err := s.store.Customer(ctx, customer); errors.Is(err, store.ErrNotFound) {
			return notFound("there is no customer %s", customer)
		} else if err != nil {
			return err
		}
	}
	gens, err := s.store.WizardGenerations(ctx, store.GenerationFilter{CustomerID: customer, Since: since})
	if err != nil {
		return err
	}
	view := sumUsage(gens)
	view.Since, view.Truncated = since, len(gens) >= store.MaxGenerationRows
	return c.JSON(http.StatusOK, view)
}

func usageSince(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		y, m, d := now.AddDate(0, 0, -defaultUsageDays).UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badRequest("since must be a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z), not %q", v)
	}
	return t.UTC(), nil
}

// sumUsage groups generations by customer, day, provider and model.
func sumUsage(gens []store.WizardGeneration) llmUsageView {
	type key struct{ customer, day, provider, model string }
	rows := map[key]*llmUsageRow{}
	view := llmUsageView{Items: []llmUsageRow{}}
	for _, g := range gens {
		k := key{g.CustomerID, g.CreatedAt.UTC().Format(time.DateOnly), g.Provider, g.Model}
		r := rows[k]
		if r == nil {
			r = &llmUsageRow{CustomerID: k.customer, Day: k.day, Provider: k.provider, Model: k.model}
			rows[k] = r
		}
		for _, acc := range []*llmUsageRow{r, &view.Total} {
			acc.Calls++
			acc.InputTokens += g.InputTokens
			acc.OutputTokens += g.OutputTokens
			if g.Outcome != "ok" {
				acc.Failed++
			}
		}
	}
	for _, r := range rows {
		view.Items = append(view.Items, *r)
	}
	sort.Slice(view.Items, func(i, j int) bool {
		a, b := view.Items[i], view.Items[j]
		return a.Day+"\x00"+a.CustomerID+"\x00"+a.Provider+"\x00"+a.Model < b.Day+"\x00"+b.CustomerID+"\x00"+b.Provider+"\x00"+b.Model
	})
	return view
}
