// Package wizard turns a person's description into deployed, tested tools:
// an LLM proposes tools, the person edits and accepts the proposal, the LLM
// writes Go source for each tool, Kiln validates, builds and runs each
// tool's sample calls in the sandbox, failures go back to the LLM for a
// bounded number of repairs, and the tools that pass are deployed to a
// server as ordinary tools with their source kept.
//
// A session is an explicit state machine (state.go) persisted in the
// wizard_sessions table. Every change is written against the version it
// was read at: a person's change that lost a race is a *ConflictError (the
// API's 409), never a silently merged session. Work that outlives a request
// (proposing, generating) runs under a lease with an expiry that its worker
// renews; a node that dies leaves an expired lease, which Run's resume scan
// on any node takes over, so no session is stuck forever.
//
// The LLM's output is untrusted input: generated source goes through the
// same pkg/build validation, build and sandbox as a person's source, with
// the customer's plan limits (tier.Catalog.ForCustomer). With no LLM
// configured the wizard says so, and a person can still write the proposal
// and start each tool from a compiling skeleton.
package wizard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Defaults of Config; each is explained where it is used.
const (
	// DefaultRepairs is how many times a failing tool goes back to the LLM
	// after its first answer: most repairs succeed in one or two rounds,
	// and each costs a generation of the customer's quota.
	DefaultRepairs = 3
	// DefaultParallel bounds the tools of one session generated at once, so
	// one session with many tools cannot take every LLM and build slot.
	DefaultParallel = 2
	// DefaultLeaseTTL is how long work stays claimed without a renewal: a
	// worker renews at a third of it, and a dead node's session is resumed
	// within about this long.
	DefaultLeaseTTL = 30 * time.Second
	// DefaultSessionTTL is how long an untouched session is kept.
	DefaultSessionTTL = 7 * 24 * time.Hour
	// DefaultStreamMax bounds one event stream; the client reconnects with
	// Last-Event-ID and misses nothing.
	DefaultStreamMax = 15 * time.Minute
)

// Limits on what a session holds, so a model's or a person's answer cannot
// grow a session row without bound.
const (
	MaxDescription = 4000
	MaxTools       = 16
	MaxSamples     = 5
	maxSchemaBytes = 16 << 10
	maxSampleBytes = 8 << 10
	maxErrorBytes  = 4 << 10
)

// NoLLMMessage is what the wizard says when no provider is configured.
const NoLLMMessage = "No LLM provider is configured on this Kiln, so the wizard cannot propose or write tools. " +
	"An operator enables it by setting KILN_LLM_PROVIDERS (for example openai:gpt-4.1-mini or " +
	"anthropic:claude-sonnet-4-5, comma-separated for a fallback chain) with each entry's key in KILN_LLM_KEY_1, KILN_LLM_KEY_2, …. " +
	"Meanwhile you can write the tools yourself: accept a proposal listing the tools you want, generate to start each from a " +
	"compiling skeleton, edit the source, rebuild, test and deploy."

// Config holds the services the wizard runs on. Store, Catalog, Engine and
// Builds are required; LLM may be nil (no provider configured).
type Config struct {
	Store   *store.Store
	Catalog *tier.Catalog
	Engine  *sandbox.Engine
	Builds  *build.Pool
	// LLM answers the wizard's questions (an *llm.Chain); nil: none.
	LLM llm.Completer
	// Logger receives the wizard's failures. Nil: slog.Default().
	Logger *slog.Logger
	// Egress is the operator's policy for sample and playground calls
	// (AllowPrivate, caps); the allow list comes from each tool's egress.
	Egress egress.Policy
	// Secrets seals the secret values a person supplies in a session
	// (secrets.go); nil: the wizard takes none.
	Secrets       *secrets.Box
	EgressOptions []egress.Option
	// Repairs, Parallel, LeaseTTL, SessionTTL, StreamMax: zero means the
	// Default of the same name.
	Repairs    int
	Parallel   int
	LeaseTTL   time.Duration
	SessionTTL time.Duration
	StreamMax  time.Duration
}

// Wizard runs sessions. It is safe for concurrent use; make one per node.
type Wizard struct {
	cfg     Config
	log     *slog.Logger
	hub     *hub
	prompts *prompts

	// ctx ends the workers when Close is called.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a wizard. Call Run to resume abandoned work and Close to stop
// the workers.
func New(cfg Config) (*Wizard, error) {
	if cfg.Store == nil || cfg.Catalog == nil || cfg.Engine == nil || cfg.Builds == nil {
		return nil, errors.New("wizard: Config is missing a service")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Repairs, DefaultRepairs)
	def(&cfg.Parallel, DefaultParallel)
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.LeaseTTL, DefaultLeaseTTL}, {&cfg.SessionTTL, DefaultSessionTTL}, {&cfg.StreamMax, DefaultStreamMax}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p, err := loadPrompts()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Wizard{cfg: cfg, log: cfg.Logger, hub: newHub(), prompts: p, ctx: ctx, cancel: cancel}, nil
}

// HasLLM says whether a provider is configured.
func (w *Wizard) HasLLM() bool { return w.cfg.LLM != nil }

// Close stops the workers of this node and waits for them. Their sessions
// keep their leases, which expire, and are resumed by Run on any node.
func (w *Wizard) Close() {
	w.cancel()
	w.wg.Wait()
}

// Wait waits for the workers of this node to finish (a draining node lets
// its generations and builds end before Close cancels them), or for ctx.
// No new work should be started meanwhile: call it once requests stopped.
func (w *Wizard) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err() // the goroutine ends with the workers, which Close cancels
	}
}

// Run resumes sessions whose work was abandoned (an expired lease) until
// ctx ends: at once, then every half lease.
func (w *Wizard) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.LeaseTTL / 2)
	defer t.Stop()
	for {
		if err := w.ResumeStale(ctx); err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "wizard: resuming abandoned sessions", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// go runs fn as a worker that Close waits for.
func (w *Wizard) spawn(fn func(ctx context.Context)) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		fn(w.ctx)
	}()
}

// ConflictError is a change made against a version of the session that is
// no longer current.
type ConflictError struct {
	Session string
	Current int64
	Given   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("wizard: session %s changed since version %d: it is at version %d; read it again and retry", e.Session, e.Given, e.Current)
}

// StateError is a step the session's state does not allow.
type StateError struct {
	State  State
	Action string
	Reason string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("wizard: cannot %s while the session is %s: %s", e.Action, e.State, e.Reason)
}

// QuotaError is a generation the customer's plan has no quota left for.
type QuotaError struct {
	Plan string
	Max  int
}

func (e *QuotaError) Error() string {
	if e.Max == 0 {
		return fmt.Sprintf("wizard: the %s plan includes no LLM generations; ask the operator for a plan that does", e.Plan)
	}
	return fmt.Sprintf("wizard: the %s plan allows %d LLM generations a day and today's are used up; the count restarts at 00:00 UTC, and you can still edit, build and deploy tools by hand",
		e.Plan, e.Max)
}

// InputError is a request the wizard refuses as given: a bad tool name,
// schema or sample. Its message says what to change.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return "wizard: " + e.Msg }

func inputf(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }

// ErrNoLLM: the step needs an LLM and none is configured.
var ErrNoLLM = errors.New("wizard: " + NoLLMMessage)

// ErrNotFound: no such session for this customer, or no such tool in it.
var ErrNotFound = errors.New("wizard: not found")
