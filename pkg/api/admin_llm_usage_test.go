package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// TestLLMUsage: the operator's view sums the wizard's recorded generations
// per customer, UTC day, provider and model (failed calls counted apart),
// for one customer or all, from since; a bad since is a 400, an unknown
// customer a 404, and a customer's key is refused.
func TestLLMUsage(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		a, keyA := h.customer(tier.Free)
		b, _ := h.customer(tier.Free)
		ctx := context.Background()
		gen := func(customer, model, outcome string, in, out int64) {
			g := store.WizardGeneration{CustomerID: customer, SessionID: "wiz_x", Purpose: "generate", PromptVersion: "generate/1"}
			if err := h.store.ReserveWizardGeneration(ctx, &g, time.Time{}, func(int) error { return nil }); err != nil {
				t.Fatal(err)
			}
			g.Provider, g.Model, g.Outcome, g.InputTokens, g.OutputTokens = "openai@https://api.example.com/v1", model, outcome, in, out
			if err := h.store.FinishWizardGeneration(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		gen(a, "m1", "ok", 100, 10)
		gen(a, "m1", "timeout", 50, 0)
		gen(a, "m2", "ok", 7, 3)
		gen(b, "m1", "ok", 1000, 100)

		type row struct {
			CustomerID   string `json:"customer_id"`
			Model        string `json:"model"`
			Day          string `json:"day"`
			Calls        int    `json:"calls"`
			Failed       int    `json:"failed"`
			InputTokens  int64  `json:"input_tokens"`
			OutputTokens int64  `json:"output_tokens"`
		}
		var all struct {
			Items []row `json:"items"`
			Total row   `json:"total"`
		}
		h.admin("GET", "/llm-usage", nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 3 || all.Total.Calls != 4 || all.Total.Failed != 1 || all.Total.InputTokens != 1157 || all.Total.OutputTokens != 113 {
			t.Fatalf("all customers: %+v", all)
		}
		today := h.store.Now().UTC().Format(time.DateOnly)
		var onlyA struct {
			Items []row `json:"items"`
			Total row   `json:"total"`
		}
		h.admin("GET", "/llm-usage?customer="+a+"&since="+today, nil).want(t, 200).decode(t, &onlyA)
		if len(onlyA.Items) != 2 || onlyA.Total.Calls != 3 {
			t.Fatalf("customer A: %+v", onlyA)
		}
		for _, r := range onlyA.Items {
			if r.CustomerID != a || r.Day != today || (r.Model == "m1" && (r.Calls != 2 || r.Failed != 1 || r.InputTokens != 150)) {
				t.Fatalf("customer A's row %+v", r)
			}
		}
		tomorrow := h.store.Now().Add(24 * time.Hour).UTC().Format(time.DateOnly)
		var none struct{ Items []row }
		h.admin("GET", "/llm-usage?since="+tomorrow, nil).want(t, 200).decode(t, &none)
		if len(none.Items) != 0 {
			t.Fatalf("since tomorrow: %+v", none.Items)
		}
		h.admin("GET", "/llm-usage?since=yesterday", nil).want(t, 400)
		h.admin("GET", "/llm-usage?customer=cus_nobody", nil).want(t, 404)
		h.do("GET", "/api/v1/admin/llm-usage", keyA, nil).want(t, 401)
	})
}
