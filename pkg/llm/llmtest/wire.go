package llmtest

import (
	"encoding/json"
	"net/http"
)

// wire is one vendor's wire format, written after the vendors' API
// references and the official SDKs' types.
type wire interface {
	// message is a complete non-streaming answer.
	message(model string, r Reply) any
	// events are the SSE events of a streaming answer, each with its blank line.
	events(req request, r Reply) []string
	// fault writes an HTTP error in the vendor's error format.
	fault(rw http.ResponseWriter, status int, msg string)
	// streamError is an in-stream error event of a vendor error type.
	streamError(errType string) string
}

type obj = map[string]any

// errType is the vendors' error "type" for a status.
func errType(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// pieces splits an answer into a few stream deltas.
func pieces(s string) []string {
	if s == "" {
		return nil
	}
	n := max(1, (len(s)+2)/3)
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func data(v any) string {
	b, _ := json.Marshal(v)
	return "data: " + string(b) + "\n\n"
}

type openaiWire struct{}

func (openaiWire) usage(r Reply) obj {
	return obj{"prompt_tokens": r.InputTokens, "completion_tokens": r.OutputTokens,
		"total_tokens": r.InputTokens + r.OutputTokens}
}

func (w openaiWire) message(model string, r Reply) any {
	return obj{
		"id": "chatcmpl-llmtest", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []obj{{
			"index": 0, "finish_reason": "stop", "logprobs": nil,
			"message": obj{"role": "assistant", "content": r.Text, "refusal": nil},
		}},
		"usage": w.usage(r),
	}
}

// events: a role chunk, content chunks, a finish chunk, the usage chunk (only
// when stream_options.include_usage asked for it, as OpenAI does) and [DONE].
func (w openaiWire) events(req request, r Reply) []string {
	chunk := func(choices []obj, usage any) string {
		return data(obj{"id": "chatcmpl-llmtest", "object": "chat.completion.chunk", "created": 1700000000,
			"model": req.Model, "choices": choices, "usage": usage})
	}
	delta := func(d obj, finish any) []obj {
		return []obj{{"index": 0, "delta": d, "finish_reason": finish, "logprobs": nil}}
	}
	out := []string{chunk(delta(obj{"role": "assistant", "content": ""}, nil), nil)}
	for _, p := range pieces(r.Text) {
		out = append(out, chunk(delta(obj{"content": p}, nil), nil))
	}
	out = append(out, chunk(delta(obj{}, "stop"), nil))
	if req.StreamOptions.IncludeUsage {
		out = append(out, chunk([]obj{}, w.usage(r)))
	}
	return append(out, "data: [DONE]\n\n")
}

func (openaiWire) fault(rw http.ResponseWriter, status int, msg string) {
	writeJSON(rw, status, obj{"error": obj{"message": msg, "type": errType(status), "param": nil, "code": nil}})
}

func (openaiWire) streamError(t string) string {
	return data(obj{"error": obj{"message": "scripted stream error", "type": t, "param": nil, "code": nil}})
}

type anthropicWire struct{}

func (anthropicWire) message(model string, r Reply) any {
	return obj{
		"id": "msg_llmtest", "type": "message", "role": "assistant", "model": model,
		"content":     []obj{{"type": "text", "text": r.Text}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": obj{"input_tokens": r.InputTokens, "output_tokens": r.OutputTokens},
	}
}

// events follow the Messages streaming sequence: message_start,
// content_block_start, ping, content_block_delta…, content_block_stop,
// message_delta (cumulative output tokens), message_stop.
func (anthropicWire) events(req request, r Reply) []string {
	ev := func(name string, v obj) string {
		b, _ := json.Marshal(v)
		return "event: " + name + "\ndata: " + string(b) + "\n\n"
	}
	out := []string{
		ev("message_start", obj{"type": "message_start", "message": obj{
			"id": "msg_llmtest", "type": "message", "role": "assistant", "model": req.Model,
			"content": []obj{}, "stop_reason": nil, "stop_sequence": nil,
			"usage": obj{"input_tokens": r.InputTokens, "output_tokens": 1},
		}}),
		ev("content_block_start", obj{"type": "content_block_start", "index": 0,
			"content_block": obj{"type": "text", "text": ""}}),
		ev("ping", obj{"type": "ping"}),
	}
	for _, p := range pieces(r.Text) {
		out = append(out, ev("content_block_delta", obj{"type": "content_block_delta", "index": 0,
			"delta": obj{"type": "text_delta", "text": p}}))
	}
	return append(out,
		ev("content_block_stop", obj{"type": "content_block_stop", "index": 0}),
		ev("message_delta", obj{"type": "message_delta",
			"delta": obj{"stop_reason": "end_turn", "stop_sequence": nil},
			"usage": obj{"output_tokens": r.OutputTokens}}),
		ev("message_stop", obj{"type": "message_stop"}),
	)
}

func (anthropicWire) fault(rw http.ResponseWriter, status int, msg string) {
	rw.Header().Set("request-id", "req_llmtest")
	writeJSON(rw, status, obj{"type": "error", "error": obj{"type": errType(status), "message": msg}})
}

func (anthropicWire) streamError(t string) string {
	b, _ := json.Marshal(obj{"type": "error", "error": obj{"type": t, "message": "scripted stream error"}})
	return "event: error\ndata: " + string(b) + "\n\n"
}
