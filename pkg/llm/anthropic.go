package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// anthropicProvider speaks the Anthropic Messages API.
type anthropicProvider struct {
	base
	svc anthropic.MessageService
}

func newAnthropic(b base, hc *http.Client) *anthropicProvider {
	// WithoutEnvironmentDefaults keeps the SDK from reading ANTHROPIC_API_KEY,
	// ANTHROPIC_BASE_URL, profiles and federation settings.
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithHTTPClient(hc),
		option.WithBaseURL(b.url),
		option.WithMaxRetries(0),
	}
	if !b.key.IsZero() {
		opts = append(opts, option.WithAPIKey(b.key.Reveal()))
	}
	c := anthropic.NewClient(opts...)
	return &anthropicProvider{base: b, svc: c.Messages}
}

// Complete makes one Messages call.
func (p *anthropicProvider) Complete(ctx context.Context, r Request) (Response, error) {
	params, err := p.params(r)
	if err != nil {
		return Response{}, err
	}
	var raw *http.Response
	opts := []option.RequestOption{option.WithResponseInto(&raw)}
	if dl, ok := ctx.Deadline(); ok {
		// An explicit timeout replaces the SDK's guess from max_tokens, which
		// refuses large non-streaming requests outright; ctx still rules.
		opts = append(opts, option.WithRequestTimeout(time.Until(dl)))
	}
	var m anthropic.Message
	if p.stream {
		s := p.svc.NewStreaming(ctx, params, opts...)
		for err == nil && s.Next() {
			err = m.Accumulate(s.Current())
		}
		if err == nil {
			err = s.Err()
		}
		_ = s.Close()
	} else {
		var got *anthropic.Message
		if got, err = p.svc.New(ctx, params, opts...); err == nil {
			m = *got
		}
	}
	if err != nil {
		return Response{}, p.fail(raw, err, anthropicFault(err))
	}
	return Response{
		Text:     anthropicText(m),
		Provider: p.Name(), Model: p.model, Attempts: 1,
		Usage: Usage{InputTokens: int(m.Usage.InputTokens), OutputTokens: int(m.Usage.OutputTokens)},
	}, nil
}

func anthropicText(m anthropic.Message) string {
	var b strings.Builder
	for _, c := range m.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

func (p *anthropicProvider) params(r Request) (anthropic.MessageNewParams, error) {
	msgs := make([]anthropic.MessageParam, 0, len(r.Messages))
	for _, m := range r.Messages {
		if m.Role == RoleAssistant {
			msgs = append(msgs, anthropic.NewAssistantMessage(anthropic.NewTextBlock(m.Content)))
		} else {
			msgs = append(msgs, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		}
	}
	params := anthropic.MessageNewParams{
		Model:     anthropic.Model(p.model),
		Messages:  msgs,
		MaxTokens: int64(maxTokens(r)),
	}
	if r.System != "" {
		params.System = []anthropic.TextBlockParam{{Text: r.System}}
	}
	if len(r.Schema) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(r.Schema, &schema); err != nil {
			return params, &Error{Kind: KindBadRequest, Provider: p.Name(), Model: p.model, Msg: "schema is not a JSON object", Err: err}
		}
		// Native structured output: the answer is a text block holding the
		// JSON document, so no tool-call unwrapping is needed.
		params.OutputConfig.Format = anthropic.JSONOutputFormatParam{Schema: schema}
	}
	return params, nil
}

// anthropicFault reads the status, error type and message out of the SDK's
// error, including errors that arrive as SSE "error" events after a 200.
func anthropicFault(err error) apiFault {
	var e *anthropic.Error
	if errors.As(err, &e) {
		f := apiFault{errType: string(e.Type()), msg: e.Message}
		if e.StatusCode >= 400 {
			f.status = e.StatusCode
		}
		return f
	}
	return apiFault{}
}
