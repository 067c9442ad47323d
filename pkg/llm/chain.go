package llm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/semaphore"
)

// Completer is what callers of a Chain depend on; a Chain and every Provider
// implement it.
type Completer interface {
	Complete(ctx context.Context, r Request) (Response, error)
}

// Chain answers a Request from an ordered list of providers: each is tried
// with retries in turn until one gives a valid answer. It is safe for
// concurrent use; make one per node so that MaxConcurrent bounds the node.
type Chain struct {
	providers []Provider
	opts      Options
	sem       *semaphore.Weighted
}

// New builds one provider per config, in order, and a Chain over them.
func New(cfgs []ProviderConfig, opts Options) (*Chain, error) {
	ps := make([]Provider, 0, len(cfgs))
	for _, c := range cfgs {
		p, err := NewProvider(c, opts)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return NewChain(ps, opts)
}

// NewChain makes a Chain over providers, tried in order.
func NewChain(providers []Provider, opts Options) (*Chain, error) {
	if len(providers) == 0 {
		return nil, errors.New("llm: no providers configured (set KILN_LLM_PROVIDERS)")
	}
	opts = opts.withDefaults()
	return &Chain{providers: slices.Clone(providers), opts: opts, sem: semaphore.NewWeighted(int64(opts.MaxConcurrent))}, nil
}

// question is the state of one Complete across providers and attempts.
type question struct {
	req      Request
	v        *validator
	attempts int
	usage    Usage
}

// Complete asks the providers in order. A provider is left for the next one
// when its attempts are exhausted, when it fails for a reason retrying cannot
// fix (auth, bad request, unknown model), when a Retry-After would pass the
// deadline, or when its answers keep failing validation. Every failure is an
// *Error; when all providers fail it summarises each.
func (c *Chain) Complete(ctx context.Context, r Request) (Response, error) {
	start := c.opts.Now()
	v, err := checkRequest(r)
	if err != nil {
		return Response{}, &Error{Kind: KindBadRequest, Msg: err.Error(), Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.StepTimeout)
	defer cancel()
	q := &question{req: r, v: v}
	var errs []error
	for i, p := range c.providers {
		resp, err := c.ask(ctx, p, q)
		if err == nil {
			resp.Latency, resp.Attempts, resp.Usage = c.opts.Now().Sub(start), q.attempts, q.usage
			return resp, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
		if i+1 < len(c.providers) {
			c.opts.Logger.Warn("llm: falling through to the next provider",
				"provider", p.Name(), "model", p.Model(), "error", err.Error())
		}
	}
	return Response{}, summarise(ctx, errs, q.attempts)
}

func checkRequest(r Request) (*validator, error) {
	if len(r.Messages) == 0 || r.Messages[0].Role != RoleUser {
		return nil, errors.New("request must start with a user message")
	}
	for i, m := range r.Messages {
		if m.Role != RoleUser && m.Role != RoleAssistant {
			return nil, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
	}
	return compileSchema(r)
}

// ask gets a valid answer from one provider, re-asking with the validation
// error at most MaxReasks times.
func (c *Chain) ask(ctx context.Context, p Provider, q *question) (Response, error) {
	req := q.req
	req.Messages = slices.Clone(q.req.Messages)
	for round := 0; ; round++ {
		resp, err := c.retry(ctx, p, q, req)
		if err != nil {
			return Response{}, err
		}
		if q.v == nil {
			c.record(q, p, resp, "ok")
			return resp, nil
		}
		doc, verr := q.v.check(resp.Text)
		if verr == nil {
			c.record(q, p, resp, "ok")
			resp.Text = doc
			return resp, nil
		}
		c.record(q, p, resp, KindInvalidOutput.String())
		if round >= c.opts.MaxReasks {
			return Response{}, &Error{Kind: KindInvalidOutput, Provider: p.Name(), Model: p.Model(),
				Msg: fmt.Sprintf("no valid answer in %d tries; last: %v", round+1, verr), Err: verr}
		}
		req.Messages = append(req.Messages,
			Message{Role: RoleAssistant, Content: resp.Text},
			Message{Role: RoleUser, Content: reask(verr)})
	}
}

// retry makes up to MaxAttempts attempts at one provider, waiting between
// transient failures for the server's Retry-After, else a jittered backoff.
func (c *Chain) retry(ctx context.Context, p Provider, q *question, req Request) (Response, error) {
	for n := 1; ; n++ {
		resp, err := c.once(ctx, p, q, req)
		if err == nil {
			return resp, nil
		}
		e := asError(p, err)
		e.Attempts = n
		if ctx.Err() != nil || !e.Kind.Transient() || n >= c.opts.MaxAttempts {
			return Response{}, e
		}
		wait, why := e.RetryAfter, "Retry-After"
		if wait <= 0 {
			wait, why = c.opts.backoff(n), "backoff"
		}
		if dl, ok := ctx.Deadline(); ok && c.opts.Now().Add(wait).After(dl) {
			e.Msg += fmt.Sprintf("; not retried: %s %s would pass the deadline", why, wait)
			return Response{}, e
		}
		c.opts.Logger.Warn("llm: retrying", "provider", p.Name(), "model", p.Model(),
			"kind", e.Kind.String(), "status", e.Status, "attempt", n, "wait", wait, "wait_from", why)
		if err := c.opts.Sleep(ctx, wait); err != nil {
			e.Msg += "; gave up waiting to retry: " + err.Error()
			return Response{}, e
		}
	}
}

// once makes one attempt inside a pool slot and the attempt timeout.
func (c *Chain) once(ctx context.Context, p Provider, q *question, req Request) (Response, error) {
	if err := c.sem.Acquire(ctx, 1); err != nil {
		return Response{}, &Error{Kind: ctxKind(err), Provider: p.Name(), Model: p.Model(),
			Msg: "waiting for a free LLM slot", Err: ctxCause(err)}
	}
	defer c.sem.Release(1)
	actx, cancel := context.WithTimeout(ctx, c.opts.AttemptTimeout)
	defer cancel()
	start := c.opts.Now()
	actx, span := startSpan(actx, p)
	resp, err := p.Complete(actx, req)
	endSpan(span, p, resp, err)
	lat := c.opts.Now().Sub(start)
	q.attempts++
	if err != nil {
		e := asError(p, err)
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			e.Kind, e.Err = KindTimeout, context.DeadlineExceeded
			e.Msg = fmt.Sprintf("no answer within the attempt timeout (%s)", c.opts.AttemptTimeout)
		}
		c.record(q, p, Response{Latency: lat}, e.Kind.String())
		return Response{}, e
	}
	resp.Latency = lat
	q.usage.InputTokens += resp.Usage.InputTokens
	q.usage.OutputTokens += resp.Usage.OutputTokens
	return resp, nil
}

func (c *Chain) record(q *question, p Provider, resp Response, outcome string) {
	if c.opts.Record == nil {
		return
	}
	c.opts.Record(Record{
		Time: c.opts.Now(), Meta: q.req.Meta, Provider: p.Name(), Model: p.Model(),
		Attempt: q.attempts, Usage: resp.Usage, Latency: resp.Latency, Outcome: outcome,
	})
}

// asError makes any provider error an *Error; a foreign Provider's plain
// error counts as a server error.
func asError(p Provider, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{Kind: KindServer, Msg: err.Error()}
	if p != nil {
		e.Provider, e.Model = p.Name(), p.Model()
	}
	return e
}

func ctxKind(err error) Kind {
	if errors.Is(err, context.Canceled) {
		return KindCanceled
	}
	return KindTimeout
}

// summarise is the error of a Complete that got no answer: the single
// provider's error, or one naming every provider's failure.
func summarise(ctx context.Context, errs []error, attempts int) error {
	last := asError(nil, errs[len(errs)-1])
	if ctx.Err() != nil && last.Err == nil {
		last.Kind, last.Err = ctxKind(ctx.Err()), ctx.Err()
	}
	if len(errs) == 1 {
		return last
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return &Error{Kind: last.Kind, Attempts: attempts, Err: errors.Join(errs...),
		Msg: fmt.Sprintf("all %d providers failed: %s", len(errs), strings.Join(msgs, "; "))}
}
