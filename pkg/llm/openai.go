package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openaiProvider speaks Chat Completions, the dialect every OpenAI-compatible
// server (OpenRouter, Ollama, vLLM, LM Studio) implements.
type openaiProvider struct {
	base
	svc openai.ChatCompletionService
}

func newOpenAI(b base, hc *http.Client) *openaiProvider {
	// The service is built directly rather than through openai.NewClient,
	// which would read OPENAI_API_KEY, OPENAI_BASE_URL and friends.
	opts := []option.RequestOption{
		option.WithHTTPClient(hc),
		option.WithBaseURL(b.url),
		option.WithMaxRetries(0),
	}
	if !b.key.IsZero() {
		opts = append(opts, option.WithAPIKey(b.key.Reveal()))
	}
	return &openaiProvider{base: b, svc: openai.NewChatCompletionService(opts...)}
}

// Complete makes one Chat Completions call.
func (p *openaiProvider) Complete(ctx context.Context, r Request) (Response, error) {
	params, err := p.params(r)
	if err != nil {
		return Response{}, err
	}
	var raw *http.Response
	resp := Response{Provider: p.Name(), Model: p.model, Attempts: 1}
	if p.stream {
		err = p.streamed(ctx, params, &resp, option.WithResponseInto(&raw))
	} else {
		var c *openai.ChatCompletion
		c, err = p.svc.New(ctx, params, option.WithResponseInto(&raw))
		if err == nil {
			if len(c.Choices) == 0 {
				return Response{}, p.fail(raw, errors.New("answer has no choices"), apiFault{})
			}
			resp.Text = c.Choices[0].Message.Content
			resp.Usage = Usage{InputTokens: int(c.Usage.PromptTokens), OutputTokens: int(c.Usage.CompletionTokens)}
		}
	}
	if err != nil {
		return Response{}, p.fail(raw, err, openaiFault(err))
	}
	return resp, nil
}

// streamed reads an SSE answer; usage arrives in a last chunk with no
// choices, and only because stream_options.include_usage asks for it.
func (p *openaiProvider) streamed(ctx context.Context, params openai.ChatCompletionNewParams, resp *Response, opt option.RequestOption) error {
	params.StreamOptions.IncludeUsage = openai.Bool(true)
	s := p.svc.NewStreaming(ctx, params, opt)
	defer s.Close()
	var text strings.Builder
	for s.Next() {
		c := s.Current()
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
		if c.Usage.PromptTokens != 0 || c.Usage.CompletionTokens != 0 {
			resp.Usage = Usage{InputTokens: int(c.Usage.PromptTokens), OutputTokens: int(c.Usage.CompletionTokens)}
		}
	}
	resp.Text = text.String()
	return s.Err()
}

func (p *openaiProvider) params(r Request) (openai.ChatCompletionNewParams, error) {
	msgs := make([]openai.ChatCompletionMessageParamUnion, 0, len(r.Messages)+1)
	if r.System != "" {
		msgs = append(msgs, openai.SystemMessage(r.System))
	}
	for _, m := range r.Messages {
		if m.Role == RoleAssistant {
			msgs = append(msgs, openai.AssistantMessage(m.Content))
		} else {
			msgs = append(msgs, openai.UserMessage(m.Content))
		}
	}
	params := openai.ChatCompletionNewParams{
		Model:               shared.ChatModel(p.model),
		Messages:            msgs,
		MaxCompletionTokens: openai.Int(int64(maxTokens(r))),
	}
	if len(r.Schema) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(r.Schema, &schema); err != nil {
			return params, &Error{Kind: KindBadRequest, Provider: p.Name(), Model: p.model, Msg: "schema is not a JSON object", Err: err}
		}
		params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: schemaName(r), Schema: schema},
			},
		}
	}
	return params, nil
}

// openaiFault reads the status and vendor message out of the SDK's error.
func openaiFault(err error) apiFault {
	var e *openai.Error
	if errors.As(err, &e) {
		return apiFault{status: e.StatusCode, errType: e.Type, msg: e.Message}
	}
	return apiFault{}
}
