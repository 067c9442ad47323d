// Package eval measures the wizard's prompts against real tasks: it runs
// each task's description through a whole session (propose, accept,
// generate with repairs, build, sample calls in the sandbox) on the
// configured LLM providers and reports what the session reached, per task
// and in total. Prompt quality is the product; this is how a prompt change
// is judged. The scoring reads only what the session recorded (each tool's
// attempts and sample results, the generations stored for the session), so
// a fake provider and a real one are scored alike.
package eval

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/wizard"
)

// Task is one realistic request a person might make of the wizard.
type Task struct {
	ID          string `json:"id"`
	Category    string `json:"category"`
	Description string `json:"description"`
}

//go:embed tasks.json
var tasksJSON []byte

// Tasks returns the evaluation tasks kept in the repository (tasks.json).
func Tasks() ([]Task, error) {
	var ts []Task
	if err := json.Unmarshal(tasksJSON, &ts); err != nil {
		return nil, fmt.Errorf("eval: tasks.json: %w", err)
	}
	return ts, nil
}

// Config is what an evaluation runs on.
type Config struct {
	Wizard *wizard.Wizard
	Store  *store.Store
	// Customer owns the sessions; its plan needs generations to spare.
	Customer string
	// TaskTimeout bounds one task; default 15 minutes.
	TaskTimeout time.Duration
	// Progress, if set, is called with each task's result as it finishes.
	Progress func(TaskResult)
	// Secret gives the value a person would supply for a secret a
	// proposed tool declares ("" or nil: none, and its samples fail).
	Secret func(name string) string
}

// Run evaluates tasks one after the other (so that their times are their
// own) and reports each and the total. A task that fails is a result, not
// an error; the error is a failure to run the evaluation at all (ctx).
func Run(ctx context.Context, cfg Config, tasks []Task) (Report, error) {
	if cfg.Wizard == nil || cfg.Store == nil || cfg.Customer == "" {
		return Report{}, errors.New("eval: Config needs a Wizard, a Store and a Customer")
	}
	if cfg.TaskTimeout <= 0 {
		cfg.TaskTimeout = 15 * time.Minute
	}
	var rep Report
	for _, t := range tasks {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r := runTask(ctx, cfg, t)
		rep.Tasks = append(rep.Tasks, r)
		if cfg.Progress != nil {
			cfg.Progress(r)
		}
	}
	rep.Total = total(rep.Tasks)
	return rep, nil
}

// runTask runs one task's session as far as it goes and scores it.
func runTask(ctx context.Context, cfg Config, t Task) TaskResult {
	ctx, cancel := context.WithTimeout(ctx, cfg.TaskTimeout)
	defer cancel()
	start := time.Now() // a duration, measured on the monotonic clock
	r := TaskResult{ID: t.ID, Category: t.Category}
	s, err := session(ctx, cfg, t)
	if s != nil {
		r.Session, r.State = s.ID, string(s.State)
		score(&r, s)
		if err == nil && s.Error != "" {
			err = errors.New(s.Error)
		}
		for _, tl := range s.Tools {
			if err == nil && tl.Status == wizard.ToolFailed {
				err = fmt.Errorf("tool %s: %s", tl.Name, tl.Error)
			}
		}
	}
	if err != nil {
		r.Error = strings.TrimPrefix(err.Error(), "wizard: ")
	}
	if s != nil {
		if uerr := usage(ctx, cfg.Store, &r); uerr != nil && r.Error == "" {
			r.Error = uerr.Error()
		}
	}
	r.Seconds = time.Since(start).Seconds()
	return r
}

// session drives one session from the description to generated tools:
// create (which proposes), accept the proposal as it is, generate.
func session(ctx context.Context, cfg Config, t Task) (*wizard.Session, error) {
	w := cfg.Wizard
	s, err := w.Create(ctx, cfg.Customer, nil, t.Description)
	if err != nil {
		return nil, err
	}
	if s, err = rest(ctx, cfg, s); err != nil || s.State != wizard.StateProposed {
		return s, err
	}
	r := s
	if s, err = w.Accept(ctx, cfg.Customer, s.ID, s.Version, s.Proposal.Tools); err != nil {
		return r, err
	}
	if s, err = supplySecrets(ctx, cfg, s); err != nil {
		return r, err
	}
	if s, err = w.Generate(ctx, cfg.Customer, s.ID, s.Version, nil); err != nil {
		return r, err
	}
	return rest(ctx, cfg, s)
}

// supplySecrets gives the session the values of its tools' secrets, as a
// person would before the sample calls.
func supplySecrets(ctx context.Context, cfg Config, s *wizard.Session) (*wizard.Session, error) {
	if cfg.Secret == nil {
		return s, nil
	}
	for _, t := range s.Tools {
		for _, e := range t.Env {
			v := cfg.Secret(e.Name)
			if !e.Secret || v == "" {
				continue
			}
			next, err := cfg.Wizard.SetSecret(ctx, cfg.Customer, s.ID, s.Version, e.Name, v)
			if err != nil {
				return s, err
			}
			s = next
		}
	}
	return s, nil
}

// rest waits, through the session's event stream, until its work is done.
func rest(ctx context.Context, cfg Config, s *wizard.Session) (*wizard.Session, error) {
	for {
		if err := cfg.Wizard.Stream(ctx, cfg.Customer, s.ID, 0, func(wizard.Event) error { return nil }); err != nil {
			return s, err
		}
		cur, err := cfg.Wizard.Get(ctx, cfg.Customer, s.ID)
		if err != nil {
			return s, err
		}
		if cur.State != wizard.StateProposing && cur.State != wizard.StateGenerating {
			return cur, nil
		}
		if err := ctx.Err(); err != nil { // the stream ended at StreamMax: follow again
			return cur, fmt.Errorf("the task took longer than its timeout: %w", err)
		}
	}
}

// usage adds the session's recorded generations: calls and tokens.
func usage(ctx context.Context, st *store.Store, r *TaskResult) error {
	gens, err := st.WizardGenerations(context.WithoutCancel(ctx), store.GenerationFilter{SessionID: r.Session})
	if err != nil {
		return err
	}
	for _, g := range gens {
		r.LLMCalls++
		r.InputTokens += g.InputTokens
		r.OutputTokens += g.OutputTokens
	}
	return nil
}
