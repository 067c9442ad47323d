package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/tier"
)

// Generate writes, builds and tests the named tools of the session at
// version (none named: every tool that has not passed), in the background.
// With an LLM the source is generated and repaired; without one each tool
// starts from a compiling skeleton for the person to complete.
func (w *Wizard) Generate(ctx context.Context, customerID, id string, version int64, names []string) (*Session, error) {
	if w.HasLLM() {
		if err := w.CheckQuota(ctx, customerID); err != nil {
			return nil, err
		}
	}
	var token string
	s, err := w.update(ctx, customerID, id, version, func(s *Session) ([]event, error) {
		if err := s.move(StateGenerating, "generate tools"); err != nil {
			return nil, err
		}
		run, err := pickTools(s, names)
		if err != nil {
			return nil, err
		}
		evs := []event{stateEvent(s.State, "")}
		for _, name := range run {
			t := s.tool(name)
			t.Status, t.Round, t.Attempts, t.Error = ToolPending, 0, nil, ""
			evs = append(evs, toolEvent(t))
		}
		s.Error = ""
		token = w.claim(s, run)
		return evs, nil
	})
	if err != nil {
		return nil, err
	}
	w.spawn(func(ctx context.Context) { w.runGenerate(ctx, customerID, id, token) })
	return s, nil
}

// pickTools is the run of a generation: the tools named, or every tool
// that has not passed.
func pickTools(s *Session, names []string) ([]string, error) {
	if len(s.Tools) == 0 {
		return nil, &StateError{State: s.State, Action: "generate tools", Reason: "the session has no tools: accept a proposal first"}
	}
	if len(names) == 0 {
		for _, t := range s.Tools {
			if t.Status != ToolPassed {
				names = append(names, t.Name)
			}
		}
		if len(names) == 0 {
			return nil, inputf("every tool has passed; name the tools to generate again")
		}
		return names, nil
	}
	for _, n := range names {
		if s.tool(n) == nil {
			return nil, fmt.Errorf("%w: the session has no tool %q", ErrNotFound, n)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(names))), nil
}

// runGenerate is the generating worker: the tools of the run in parallel,
// at most Config.Parallel at once, then the session settles. When ctx ends
// (the node stops) it leaves the session for a resume to take over.
func (w *Wizard) runGenerate(ctx context.Context, customerID, id, token string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go w.heartbeat(ctx, cancel, customerID, id, token)
	s, err := w.Get(ctx, customerID, id)
	if err != nil {
		w.log.WarnContext(ctx, "wizard: starting a generation", "session", id, "error", err)
		return
	}
	plan, err := w.cfg.Catalog.ForCustomer(ctx, customerID)
	if err != nil {
		w.log.WarnContext(ctx, "wizard: starting a generation", "session", id, "error", err)
		return
	}
	r := &run{w: w, customer: customerID, id: id, token: token, plan: plan}
	// Slots are taken in the run's order, so tools start in that order
	// (with Parallel 1, one after the other).
	slots := make(chan struct{}, w.cfg.Parallel)
	var wg sync.WaitGroup
	for _, name := range s.run {
		t := s.tool(name)
		if t == nil || t.Status.final() {
			continue // done before a restart, or dropped
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(spec Spec) {
			defer wg.Done()
			defer func() { <-slots }()
			tctx, err := w.withToolSecrets(ctx, s, spec)
			if err != nil {
				r.stop(ctx, spec.Name, err)
				return
			}
			r.tool(tctx, spec)
		}(t.Spec)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	err = w.work(ctx, customerID, id, token, true, func(s *Session) []event {
		s.State = s.settle()
		return []event{stateEvent(s.State, "")}
	})
	if err != nil && ctx.Err() == nil {
		w.log.WarnContext(ctx, "wizard: finishing a generation", "session", id, "error", err)
	}
}

// run is one generation's shared state.
type run struct {
	w                   *Wizard
	customer, id, token string
	plan                tier.Plan
}

// setTool changes one tool under the run's lease and reports it.
func (r *run) setTool(ctx context.Context, name string, fn func(t *Tool)) error {
	return r.w.work(ctx, r.customer, r.id, r.token, false, func(s *Session) []event {
		t := s.tool(name)
		if t == nil {
			return nil
		}
		fn(t)
		return []event{toolEvent(t)}
	})
}

// answer is one source a round produced.
type answer struct {
	files  map[string]string
	origin string
	gen    *Generation
}

// tool writes, builds, tests and repairs one tool: at most 1 + Repairs
// rounds, keeping the best attempt. A tool that never passes ends failed
// with its last error; the other tools of the run go on.
func (r *run) tool(ctx context.Context, spec Spec) {
	var best checked
	bestScore := -1
	var last answer
	feedback := ""
	for round := 1; round <= 1+r.w.cfg.Repairs; round++ {
		status := ToolGenerating
		if round > 1 {
			status = ToolRepairing
		}
		if err := r.setTool(ctx, spec.Name, func(t *Tool) { t.Status, t.Round = status, round }); err != nil {
			r.stop(ctx, spec.Name, err)
			return
		}
		a, err := r.w.write(ctx, r.customer, r.id, spec, round, last, feedback)
		if err != nil {
			r.stop(ctx, spec.Name, err)
			return
		}
		c, err := r.w.check(ctx, r.customer, r.plan, spec, a.files, func(st ToolStatus) {
			_ = r.setTool(ctx, spec.Name, func(t *Tool) { t.Status = st })
		})
		if err != nil {
			r.stop(ctx, spec.Name, err)
			return
		}
		improved := c.score() > bestScore
		if improved {
			best, bestScore = c, c.score()
		}
		done := c.stage == stagePassed || a.origin == OriginSkeleton || round == 1+r.w.cfg.Repairs
		err = r.setTool(ctx, spec.Name, func(t *Tool) {
			t.Attempts = append(t.Attempts, Attempt{Round: round, Origin: a.origin, Generation: a.gen, Stage: c.stage, Error: c.errorText()})
			if improved {
				t.Files, t.Origin, t.Generation = a.files, a.origin, a.gen
				t.Problems, t.BuildOutput, t.Samples, t.ModuleHash = best.problems, best.buildOutput, best.samples, best.moduleHash
			}
			switch {
			case c.stage == stagePassed:
				t.Status, t.Error = ToolPassed, ""
			case a.origin == OriginSkeleton:
				t.Status, t.Error = ToolFailed, skeletonNote
			case done:
				t.Status = ToolFailed
				t.Error = fmt.Sprintf("no working source after %d rounds; the best attempt is kept for you to edit. Last error: %s", round, c.errorText())
			}
		})
		if err != nil || done {
			if err != nil {
				r.stop(ctx, spec.Name, err)
			}
			return
		}
		last, feedback = a, c.feedback
	}
}

// stop ends a tool's run on an error: a failed tool with a sentence, or
// nothing when ctx ended (the node stops; a resume redoes the tool).
func (r *run) stop(ctx context.Context, name string, err error) {
	if ctx.Err() != nil || errors.Is(err, errLeaseLost) {
		return
	}
	msg := strings.TrimPrefix(err.Error(), "wizard: ")
	var (
		qe *QuotaError
		le *llm.Error
	)
	switch {
	case errors.As(err, &qe):
		msg = strings.TrimPrefix(qe.Error(), "wizard: ")
	case errors.As(err, &le):
		msg = "the LLM did not answer: " + strings.TrimPrefix(le.Error(), "llm: ") + "; generate again later, or edit the source by hand"
	default:
		r.w.log.ErrorContext(ctx, "wizard: generating a tool", "session", r.id, "tool", name, "error", err)
		msg = "Kiln failed while building or testing the tool (the server log has the details); generate again"
	}
	if serr := r.setTool(ctx, name, func(t *Tool) { t.Status, t.Error = ToolFailed, msg }); serr != nil && ctx.Err() == nil {
		r.w.log.WarnContext(ctx, "wizard: recording a failed tool", "session", r.id, "tool", name, "error", serr)
	}
}

// write produces one round's source: the LLM's (first answer or repair),
// or without an LLM a skeleton.
func (w *Wizard) write(ctx context.Context, customer, session string, spec Spec, round int, last answer, feedback string) (answer, error) {
	if !w.HasLLM() {
		files, err := skeleton(spec)
		if err != nil {
			return answer{}, inputf("no skeleton for tool %s: %v", spec.Name, err)
		}
		return answer{files: files, origin: OriginSkeleton}, nil
	}
	system, err := w.prompts.generateSystem(build.DefaultPolicy())
	if err != nil {
		return answer{}, err
	}
	user, err := w.prompts.toolPrompt(spec)
	if err != nil {
		return answer{}, err
	}
	version, purpose := PromptGenerate, "generate"
	if round > 1 {
		repair, err := w.prompts.repairPrompt(spec.Name, round-1, last.files["main.go"], feedback)
		if err != nil {
			return answer{}, err
		}
		user += "\n\n" + repair
		version, purpose = PromptRepair, "repair"
	}
	resp, gen, err := w.ask(ctx, question{customer: customer, session: session, tool: spec.Name, purpose: purpose, promptVersion: version,
		req: llm.Request{System: system, Messages: []llm.Message{{Role: llm.RoleUser, Content: user}}, Schema: codeSchema, SchemaName: "tool_source", MaxTokens: 8192}})
	if err != nil {
		return answer{}, err
	}
	var out struct {
		MainGo string `json:"main_go"`
	}
	if err := json.Unmarshal([]byte(resp.Text), &out); err != nil {
		return answer{}, fmt.Errorf("wizard: the model's answer is not the JSON asked for: %w", err)
	}
	return answer{files: map[string]string{"main.go": out.MainGo}, origin: OriginLLM, gen: gen}, nil
}
