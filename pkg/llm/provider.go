package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// NewProvider builds the adapter for one configured provider. It uses
// opts.HTTPClient and opts.MaxResponseBytes; the SDK's own retries are off and
// it reads no environment variable (the SDKs' OPENAI_API_KEY,
// ANTHROPIC_BASE_URL, … are ignored: configuration is KILN_LLM_* only).
func NewProvider(cfg ProviderConfig, opts Options) (Provider, error) {
	opts = opts.withDefaults()
	hc := limitClient(opts.HTTPClient, opts.MaxResponseBytes)
	b := base{api: cfg.API, model: cfg.Model, url: cfg.BaseURL, key: cfg.Key, stream: cfg.Stream}
	if cfg.Model == "" {
		return nil, fmt.Errorf("llm: provider %s: model is required", cfg)
	}
	if err := checkBaseURL(cfg.BaseURL, !cfg.Key.IsZero()); err != nil {
		return nil, fmt.Errorf("llm: provider %s: %w", cfg, err)
	}
	switch cfg.API {
	case APIOpenAI:
		return newOpenAI(b, hc), nil
	case APIAnthropic:
		return newAnthropic(b, hc), nil
	}
	return nil, fmt.Errorf("llm: provider %s: unknown API %q", cfg, cfg.API)
}

// base is what both adapters share: identity, key and error classification.
type base struct {
	api    API
	model  string
	url    string
	key    Secret
	stream bool
}

// Name is "KIND@BASE_URL".
func (b *base) Name() string { return string(b.api) + "@" + b.url }

// Model is the configured model name.
func (b *base) Model() string { return b.model }

// apiFault is what an adapter could read from its SDK's error.
type apiFault struct {
	status  int    // HTTP status (0: none)
	errType string // vendor error type, e.g. "overloaded_error"
	msg     string // vendor message
}

// fail turns one attempt's failure into an *Error. raw is the attempt's HTTP
// response when there was one (its status and Retry-After are authoritative).
func (b *base) fail(raw *http.Response, err error, f apiFault) *Error {
	e := &Error{Provider: b.Name(), Model: b.model, Status: f.status}
	if raw != nil && raw.StatusCode >= 400 {
		e.Status = raw.StatusCode
		e.RetryAfter = retryAfter(raw.Header, time.Now())
	}
	e.Kind = classify(e.Status, f.errType, err)
	if e.Kind == KindTimeout || e.Kind == KindCanceled {
		e.Err = ctxCause(err)
	}
	msg := f.msg
	if msg == "" && err != nil {
		msg = err.Error()
	}
	e.Msg = redact(msg, b.key.Reveal())
	return e
}

func classify(status int, errType string, err error) Kind {
	var ne net.Error
	var ue *url.Error
	if status >= 400 {
		return kindOfStatus(status)
	}
	if k, ok := kindOfErrorType(errType); ok {
		return k
	}
	switch {
	case errors.Is(err, errTooLarge):
		return KindInvalidOutput
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.As(err, &ue), errors.As(err, &ne):
		return KindConnection
	}
	return KindServer // a 2xx we could not decode
}

// ctxCause keeps only a context error as the cause, so errors.Is works
// without holding anything that references the request.
func ctxCause(err error) error {
	for _, c := range []error{context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// errTooLarge is returned when a response body passes Options.MaxResponseBytes.
var errTooLarge = errors.New("response body too large")

// limitClient returns a copy of c whose response bodies fail with errTooLarge
// after max bytes: the SDKs read whole bodies into memory, and a broken or
// hostile OpenAI-compatible server must not be able to exhaust ours.
func limitClient(c *http.Client, max int64) *http.Client {
	cp := *c
	next := cp.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp.Transport = limitTransport{next: next, max: max}
	return &cp
}

type limitTransport struct {
	next http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	res.Body = &limitedBody{ReadCloser: res.Body, left: t.max}
	return res, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, errTooLarge
	}
	return n, err
}
