package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// Create starts a session for a description. With an LLM configured and a
// generation left today it starts proposing at once; otherwise the session
// waits in describing with an Error saying why and what to do instead.
func (w *Wizard) Create(ctx context.Context, customerID string, userID *string, description string) (*Session, error) {
	description = strings.TrimSpace(description)
	if description == "" || len(description) > MaxDescription || !utf8.ValidString(description) {
		return nil, inputf("description is required: what the tools should do, in at most %d bytes of text", MaxDescription)
	}
	row := store.WizardSession{CustomerID: customerID, UserID: userID, State: string(StateDescribing), Description: description,
		ExpiresAt: w.cfg.Store.Now().Add(w.cfg.SessionTTL)}
	s := &Session{State: StateDescribing, customerID: customerID}
	quota := w.CheckQuota(ctx, customerID)
	var qe *QuotaError
	switch {
	case !w.HasLLM():
		s.Error = NoLLMMessage
	case errors.As(quota, &qe):
		s.Error = strings.TrimPrefix(qe.Error(), "wizard: ")
	case quota != nil:
		return nil, quota
	default:
		s.State = StateProposing
		w.claim(s, nil)
	}
	doc, err := json.Marshal(data{Error: s.Error})
	if err != nil {
		return nil, fmt.Errorf("wizard: encode session: %w", err)
	}
	row.State, row.Data, row.LeaseToken, row.LeaseUntil = string(s.State), doc, s.row.token, s.row.until
	if err := w.cfg.Store.CreateWizardSession(ctx, &row); err != nil {
		return nil, err
	}
	if s.State == StateProposing {
		token := *s.row.token
		w.spawn(func(ctx context.Context) { w.runPropose(ctx, customerID, row.ID, token) })
	}
	return w.fromRow(row)
}

// Propose asks the LLM for a (new) proposal of the session at version.
func (w *Wizard) Propose(ctx context.Context, customerID, id string, version int64) (*Session, error) {
	if !w.HasLLM() {
		return nil, ErrNoLLM
	}
	if err := w.CheckQuota(ctx, customerID); err != nil {
		return nil, err
	}
	var token string
	s, err := w.update(ctx, customerID, id, version, func(s *Session) ([]event, error) {
		if err := s.move(StateProposing, "propose tools"); err != nil {
			return nil, err
		}
		s.Error = ""
		token = w.claim(s, nil)
		return []event{stateEvent(s.State, "")}, nil
	})
	if err != nil {
		return nil, err
	}
	w.spawn(func(ctx context.Context) { w.runPropose(ctx, customerID, id, token) })
	return s, nil
}

// runPropose is the proposing worker. When ctx ends (the node stops) it
// leaves the session as it is, for a resume to take over.
func (w *Wizard) runPropose(ctx context.Context, customerID, id, token string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go w.heartbeat(ctx, cancel, customerID, id, token)
	p, err := w.propose(ctx, customerID, id)
	if ctx.Err() != nil {
		return
	}
	err = w.work(ctx, customerID, id, token, true, func(s *Session) []event {
		if err != nil {
			s.State, s.Error = StateDescribing, proposeError(err)
			return []event{stateEvent(s.State, s.Error)}
		}
		s.State, s.Error, s.Proposal = StateProposed, "", p
		return []event{{kind: "proposal", data: map[string]any{"tools": len(p.Tools)}}, stateEvent(s.State, "")}
	})
	if err != nil && ctx.Err() == nil {
		w.log.WarnContext(ctx, "wizard: saving a proposal", "session", id, "error", err)
	}
}

// proposeError is the session's error after a failed proposal: what
// happened, and that the person can try again or write the tools.
func proposeError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "wizard: ")
	var qe *QuotaError
	if errors.As(err, &qe) {
		return strings.TrimPrefix(qe.Error(), "wizard: ")
	}
	return "The proposal failed: " + msg + ". Propose again, or accept a proposal you write yourself."
}

func (w *Wizard) propose(ctx context.Context, customerID, id string) (*Proposal, error) {
	s, err := w.Get(ctx, customerID, id)
	if err != nil {
		return nil, err
	}
	plan, err := w.cfg.Catalog.ForCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	libs, err := w.library(ctx, plan)
	if err != nil {
		return nil, err
	}
	system, err := render(w.prompts.propose, map[string]any{"MaxTools": MaxTools, "MaxSamples": MaxSamples, "Library": libs})
	if err != nil {
		return nil, err
	}
	resp, gen, err := w.ask(ctx, question{customer: customerID, session: id, purpose: "propose", promptVersion: PromptPropose,
		req: llm.Request{System: system, Messages: []llm.Message{{Role: llm.RoleUser, Content: s.Description}},
			Schema: proposalSchema, SchemaName: "proposal"}})
	if err != nil {
		return nil, err
	}
	var p Proposal
	if err := json.Unmarshal([]byte(resp.Text), &p); err != nil {
		return nil, fmt.Errorf("the model's proposal is not the JSON asked for: %v", err)
	}
	if err := checkSpecs(p.Tools); err != nil {
		return nil, fmt.Errorf("the model's proposal is unusable: %s", strings.TrimPrefix(err.Error(), "wizard: "))
	}
	p.Library = allowedSuggestions(p.Library, libs)
	p.Generation = gen
	return &p, nil
}

// library lists the library modules the plan may use, for the prompt.
func (w *Wizard) library(ctx context.Context, plan tier.Plan) ([]libraryInfo, error) {
	mods, err := w.cfg.Store.ListLibraryModules(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []libraryInfo
	for _, l := range mods {
		var le *tier.LimitError
		if err := w.cfg.Catalog.CheckLibrary(ctx, plan, l.MinTier); errors.As(err, &le) {
			continue
		} else if err != nil {
			return nil, err
		}
		m, err := w.cfg.Store.Module(ctx, l.ModuleHash)
		if err != nil {
			return nil, err
		}
		man, err := manifest.Parse(m.Manifest)
		if err != nil {
			continue // a broken stored manifest is the library's problem, not this session's
		}
		info := libraryInfo{Name: l.Name, Version: l.Version, Description: l.Description}
		for _, t := range man.Tools {
			info.Tools = append(info.Tools, t.Name)
		}
		out = append(out, info)
	}
	return out, nil
}

// allowedSuggestions keeps the model's library suggestions that name a
// module (and tool) the plan may use: a model cannot grant a module.
func allowedSuggestions(sugs []LibrarySuggestion, libs []libraryInfo) []LibrarySuggestion {
	var out []LibrarySuggestion
	for _, s := range sugs {
		for _, l := range libs {
			if l.Name == s.Name && l.Version == s.Version && (s.Tool == "" || contains(l.Tools, s.Tool)) {
				s.Reason = truncate(s.Reason, maxDescription)
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// Accept fixes the tools of the session at version: the proposal as the
// person edited it (renamed, dropped, added tools, changed schemas, hosts
// and env vars), or one they wrote. Tools whose specification did not
// change keep their source and status.
func (w *Wizard) Accept(ctx context.Context, customerID, id string, version int64, specs []Spec) (*Session, error) {
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	return w.update(ctx, customerID, id, version, func(s *Session) ([]event, error) {
		if err := s.move(StateAccepted, "accept a proposal"); err != nil {
			return nil, err
		}
		tools := make([]*Tool, 0, len(specs))
		for _, sp := range specs {
			if old := s.tool(sp.Name); old != nil && sameSpec(old.Spec, sp) {
				tools = append(tools, old)
				continue
			}
			tools = append(tools, &Tool{Spec: sp, Status: ToolPending})
		}
		s.Tools, s.Error = tools, ""
		if s.Proposal == nil {
			s.Proposal = &Proposal{}
		}
		s.Proposal.Tools = specs
		s.State = s.settle()
		return []event{stateEvent(s.State, "")}, nil
	})
}

func sameSpec(a, b Spec) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
