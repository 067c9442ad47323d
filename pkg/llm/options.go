package llm

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// Defaults for [Options]; each is explained where it is used.
const (
	// DefaultMaxConcurrent bounds the node's in-flight LLM calls. Providers
	// rate-limit per key, and one busy customer must not take every slot.
	DefaultMaxConcurrent = 4
	// DefaultMaxAttempts is per provider and question (the SDKs' default too):
	// past two retries a provider is better replaced than hammered.
	DefaultMaxAttempts = 3
	// DefaultMaxReasks is how often an answer that fails validation is sent
	// back with the error; most repairs succeed in the first two rounds.
	DefaultMaxReasks = 2
	// DefaultAttemptTimeout bounds one HTTP attempt: a long code answer takes
	// a minute or two; a provider silent for longer is hung.
	DefaultAttemptTimeout = 2 * time.Minute
	// DefaultStepTimeout bounds one Complete, retries, waits and fall-through
	// included, so a Retry-After is never waited for beyond it.
	DefaultStepTimeout = 5 * time.Minute
	// DefaultMaxResponseBytes bounds a response body (answers are a few KiB;
	// the SDKs would otherwise buffer anything a server sends).
	DefaultMaxResponseBytes = 8 << 20

	baseBackoff = 500 * time.Millisecond
	maxBackoff  = 8 * time.Second
)

// Options tunes a [Chain]. The zero value is usable.
type Options struct {
	// MaxConcurrent bounds HTTP attempts in flight through the Chain; a slot
	// is held for one attempt, not during backoff waits.
	MaxConcurrent int
	// MaxAttempts is the number of attempts per provider for one answer.
	MaxAttempts int
	// MaxReasks bounds re-asks after an answer fails schema validation;
	// 0 means DefaultMaxReasks, a negative value means none.
	MaxReasks int
	// AttemptTimeout bounds one HTTP attempt.
	AttemptTimeout time.Duration
	// StepTimeout bounds one Complete (the caller's ctx may bound it more).
	StepTimeout time.Duration
	// MaxResponseBytes bounds one response body.
	MaxResponseBytes int64
	// HTTPClient carries the providers' requests; default: a fresh client.
	HTTPClient *http.Client
	// Record, if set, receives one Record per HTTP attempt. It is called
	// synchronously; it must not block for long.
	Record func(Record)
	// Logger receives retry and fall-through warnings; default slog.Default().
	Logger *slog.Logger

	// Now, Sleep and Jitter replace the clock, the backoff wait and the
	// jitter source (a value in [0,1)) in tests.
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func() float64
}

// Record is the usage of one HTTP attempt, for billing and quality tracking.
type Record struct {
	Time     time.Time
	Meta     Meta
	Provider string
	Model    string
	// Attempt numbers the HTTP attempts of one Complete from 1.
	Attempt int
	Usage   Usage
	Latency time.Duration
	// Outcome is "ok", or a Kind's name ("rate_limited", "invalid_output", …).
	Outcome string
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxConcurrent, DefaultMaxConcurrent)
	def(&o.MaxAttempts, DefaultMaxAttempts)
	if o.MaxReasks == 0 {
		o.MaxReasks = DefaultMaxReasks
	}
	o.MaxReasks = max(o.MaxReasks, 0)
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = DefaultStepTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait before attempt n+1 when the server named none:
// exponential from baseBackoff, capped at maxBackoff, with the upper half
// jittered so that callers failing together do not retry together.
func (o Options) backoff(n int) time.Duration {
	d := maxBackoff
	if n < 16 {
		d = min(baseBackoff<<(n-1), maxBackoff)
	}
	return d/2 + time.Duration(o.Jitter()*float64(d/2))
}
