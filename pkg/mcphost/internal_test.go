package mcphost

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

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

// TestResultKeepsTheModuleDocument: the module's result document reaches
// the agent as it wrote it (every content item, integers above 2^53 in the
// structured content intact), and a call the sandbox stopped reaches it as
// a sentence naming the plan's limit.
func TestResultKeepsTheModuleDocument(t *testing.T) {
	plan, _ := tier.Default(tier.Free)
	structured := `{"n":9007199254740993}`
	doc := `{"content":[{"type":"text","text":"hi"},{"type":"image","data":"aGk=","mimeType":"image/png"}],"structuredContent":` + structured + `}`
	res := sandbox.Result{Outcome: sandbox.OutcomeOK, Answer: sandbox.Answer{Document: []byte(doc), Structured: []byte(structured), Text: "hi"}}
	out, err := toMCPResult(res, &tool{name: "t"}, plan)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := out.StructuredContent.(json.RawMessage)
	if out.IsError || len(out.Content) != 2 || string(raw) != structured {
		t.Fatalf("result %+v, structured %s", out, raw)
	}
	if img, ok := out.Content[1].(*mcp.ImageContent); !ok || img.MIMEType != "image/png" || string(img.Data) != "hi" {
		t.Fatalf("second item %#v", out.Content[1])
	}
	stopped, err := toMCPResult(sandbox.Result{Outcome: sandbox.OutcomeTimeout}, &tool{name: "t"}, plan)
	if err != nil || !stopped.IsError || !strings.Contains(stopped.Content[0].(*mcp.TextContent).Text, "free plan") {
		t.Fatalf("stopped call: %+v, %v", stopped, err)
	}
}
