package mcphost

import (
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
)

// TestEveryOutcomeHasAMessage: no outcome reaches an agent without a
// sentence, and limit outcomes name the plan.
func TestEveryOutcomeHasAMessage(t *testing.T) {
	plan, _ := tier.Default(tier.Free)
	for o := sandbox.OutcomeOK; o <= sandbox.OutcomeFuelExhausted; o++ {
		msg := outcomeMessage(sandbox.Result{Outcome: o, Detail: "detail"}, "t", plan)
		switch o {
		case sandbox.OutcomeOK, sandbox.OutcomeToolError:
			if msg != "" {
				t.Errorf("%s: %q", o, msg)
			}
			continue
		case sandbox.OutcomeFuelExhausted, sandbox.OutcomeTimeout, sandbox.OutcomeMemoryLimit, sandbox.OutcomeOutputTooLarge:
			if !strings.Contains(msg, "free plan") {
				t.Errorf("%s does not name the plan: %q", o, msg)
			}
		}
		if !strings.HasPrefix(msg, "The ") || !strings.HasSuffix(msg, ".") {
			t.Errorf("%s: %q is not a sentence", o, msg)
		}
	}
}

// TestResolveSchema: what AddTool would panic on never reaches it.
func TestResolveSchema(t *testing.T) {
	for _, bad := range []string{`{"type":"string"}`, `{}`, `[]`, `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`,
		`{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}`} {
		if _, err := resolveSchema([]byte(bad)); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
	if _, err := resolveSchema([]byte(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`)); err != nil {
		t.Fatal(err)
	}
}
