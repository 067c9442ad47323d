package llm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
)

// A node parses KILN_LLM_PROVIDERS once, builds one Chain (its pool bounds
// every LLM call of the node), and asks for structured answers.
func Example() {
	cfgs, err := llm.ParseProviders(os.Getenv("KILN_LLM_PROVIDERS"), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	if len(cfgs) == 0 {
		return // no LLM configured: the features that need one are off
	}
	chain, err := llm.New(cfgs, llm.Options{
		Record: func(r llm.Record) {
			// persist r: customer, session, provider, model, tokens, latency, outcome
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := chain.Complete(ctx, llm.Request{
		System:     "You design MCP tools.",
		Messages:   []llm.Message{{Role: llm.RoleUser, Content: "Name a tool that counts words."}},
		Schema:     json.RawMessage(`{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`),
		SchemaName: "tool_name",
		Meta:       llm.Meta{Customer: "cus_1", Session: "wiz_1", Purpose: "name", PromptVersion: "name/1"},
	})
	if err != nil {
		log.Fatal(err) // an *llm.Error; its Kind says what went wrong
	}
	var out struct{ Name string }
	_ = json.Unmarshal([]byte(resp.Text), &out) // resp.Text was validated against the schema
	fmt.Println(out.Name, resp.Provider, resp.Usage.OutputTokens)
}
