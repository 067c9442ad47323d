// Package llm is Kiln's one door to large language models.
//
// A [Provider] makes exactly one HTTP attempt against one model through an
// official SDK (OpenAI Chat Completions, which also covers OpenRouter, Ollama,
// vLLM and LM Studio, or Anthropic Messages), with the SDK's own retries turned
// off. A [Chain] wraps an ordered list of providers and owns everything else:
// the retry loop (jittered exponential backoff, Retry-After honoured in full up
// to the deadline), fall-through to the next provider, the node-wide bound on
// concurrent calls, schema validation of structured answers with a bounded
// re-ask, and one usage [Record] per attempt.
//
// Providers are configured from KILN_LLM_PROVIDERS with [ParseProviders]; API
// keys come only from KILN_LLM_KEY_n and are held in a [Secret].
package llm

import (
	"context"
	"encoding/json"
	"time"
)

// Role is who said a message in a conversation.
type Role string

// The roles a conversation may contain. The system prompt is not a message:
// it is [Request.System].
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of a conversation.
type Message struct {
	Role    Role
	Content string
}

// Meta says who a call is for and why; it is copied into every [Record] and
// never sent to the provider.
type Meta struct {
	Customer      string
	Session       string
	Purpose       string
	PromptVersion string
}

// Request is one question to a model.
type Request struct {
	// System is the system prompt; may be empty.
	System string
	// Messages is the conversation; it must start with a user message.
	Messages []Message
	// Schema, when set, is a JSON Schema the answer must satisfy. The provider is
	// asked for structured output and the answer is validated on arrival
	// whatever the provider claims to enforce.
	Schema json.RawMessage
	// SchemaName names the schema for providers that want a name
	// (letters, digits, '_' and '-', at most 64); default "answer".
	SchemaName string
	// MaxTokens bounds the answer; 0 means [DefaultMaxTokens].
	MaxTokens int
	// Meta is recorded, not sent.
	Meta Meta
}

// Usage counts the tokens of one call as the provider reported them.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Response is a model's answer.
type Response struct {
	// Text is the answer. With a schema it is the validated JSON document,
	// stripped of any Markdown code fence the model put around it.
	Text string
	// Provider and Model say who answered.
	Provider string
	Model    string
	// Usage is the answering call's usage (from a Chain: summed over every
	// attempt that reported usage, re-asks included).
	Usage Usage
	// Latency is set by a Chain: the whole Complete, waits included (each
	// attempt's own latency is in its Record).
	Latency time.Duration
	// Attempts is the number of HTTP attempts made (1 for a Provider).
	Attempts int
}

// Provider is one model behind one endpoint.
type Provider interface {
	// Name is the provider kind and endpoint, for logs and records
	// ("openai@http://127.0.0.1:11434/v1"); it never contains a key.
	Name() string
	// Model is the model name sent to the endpoint.
	Model() string
	// Complete makes exactly one attempt. A failure is an *[Error] whose Kind
	// says whether another attempt may help. ctx bounds the attempt.
	Complete(ctx context.Context, r Request) (Response, error)
}

// DefaultMaxTokens is the answer bound used when [Request.MaxTokens] is 0;
// Anthropic requires one, and a bound keeps a runaway answer cheap.
const DefaultMaxTokens = 4096
