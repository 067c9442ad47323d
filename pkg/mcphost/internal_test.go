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

// TestInflightCancel: a cancellation reaches only the call of the same
// server, caller and request id, and none when two calls share all three.
func TestInflightCancel(t *testing.T) {
	var c inflight
	canceled := map[string]bool{}
	cancelFor := func(name string) func() { return func() { canceled[name] = true } }
	removeA := c.add("srv_a", "key:1", json.RawMessage(`7`), cancelFor("a"))
	c.add("srv_a", "key:1", json.RawMessage(`"7"`), cancelFor("string id"))
	c.add("srv_a", "key:2", json.RawMessage(`8`), cancelFor("twin 1"))
	c.add("srv_a", "key:2", json.RawMessage(`8`), cancelFor("twin 2"))
	for _, miss := range []struct {
		server, caller string
		id             any
	}{{"srv_b", "key:1", 7}, {"srv_a", "key:9", 7}, {"srv_a", "key:1", 6}, {"srv_a", "key:1", nil}, {"srv_a", "key:2", 8}} {
		if c.cancel(miss.server, miss.caller, miss.id) {
			t.Errorf("cancel(%v) canceled something", miss)
		}
	}
	if len(canceled) != 0 {
		t.Fatalf("canceled %v", canceled)
	}
	// A decoded JSON number (float64) names the call registered as 7.
	if !c.cancel("srv_a", "key:1", float64(7)) || !canceled["a"] || canceled["string id"] {
		t.Fatalf("canceled %v", canceled)
	}
	removeA()
	if c.cancel("srv_a", "key:1", 7) {
		t.Fatal("a finished call was canceled")
	}
}

// TestForwarderDropsWhenTheQueueIsFull: a client that reads too slowly
// loses notifications rather than holding the module up; a call without
// a progressToken queues no progress at all.
func TestForwarderDropsWhenTheQueueIsFull(t *testing.T) {
	f := &forwarder{token: "t", queue: make(chan notification, 2)} // nobody reads it
	for i := range 3 {
		f.Progress(sandbox.Progress{Progress: float64(i)})
	}
	f.Log(sandbox.LogMessage{Level: "info", Data: json.RawMessage(`"x"`)})
	if len(f.queue) != 2 || f.dropped != 2 {
		t.Fatalf("queued %d, dropped %d", len(f.queue), f.dropped)
	}
	none := &forwarder{}
	none.Progress(sandbox.Progress{Progress: 1})
	if none.queue != nil || none.dropped != 0 {
		t.Fatalf("without a token: queued %v, dropped %d", none.queue, none.dropped)
	}
	none.finish() // nothing was ever queued: no goroutine to wait for
}
