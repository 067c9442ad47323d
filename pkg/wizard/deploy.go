package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// DeployRequest says where a session's tools go.
type DeployRequest struct {
	Version int64
	// ServerID names an existing server of the customer; empty: a new
	// server called ServerName (default: after the session).
	ServerID   string
	ServerName string
	// Tools names the tools to deploy; empty: every tool that passed.
	Tools []string
	// Actor is who deploys, recorded with each tool version.
	Actor string
	// Audit, when set, records the deploy in the same transaction.
	Audit func(tx *store.Store, srv store.Server, created bool, tools []store.Tool) error
}

// Deployment is what a deploy changed.
type Deployment struct {
	Session *Session
	Server  store.Server
	Created bool
	Tools   []store.Tool
}

// Deploy puts the session's passed tools on a server as ordinary tools,
// each with its source kept: a tool of the same name gets a new version, a
// new name a new tool, within the plan's limits. The server, the tools and
// the session's new state are committed together, against version.
func (w *Wizard) Deploy(ctx context.Context, customerID, id string, req DeployRequest) (Deployment, error) {
	s, err := w.Get(ctx, customerID, id)
	if err != nil {
		return Deployment{}, err
	}
	if s.Version != req.Version {
		return Deployment{}, &ConflictError{Session: id, Current: s.Version, Given: req.Version}
	}
	if err := s.move(StateDeployed, "deploy"); err != nil {
		return Deployment{}, err
	}
	tools, err := deployable(s, req.Tools)
	if err != nil {
		return Deployment{}, err
	}
	plan, err := w.cfg.Catalog.ForCustomer(ctx, customerID)
	if err != nil {
		return Deployment{}, err
	}
	d := Deployment{Session: s}
	err = w.cfg.Store.InTx(ctx, func(tx *store.Store) error {
		if d.Server, d.Created, err = deployServer(ctx, tx, plan, s, req); err != nil {
			return err
		}
		for _, t := range tools {
			st, err := deployTool(ctx, tx, plan, d.Server.ID, t, req.Actor)
			if err != nil {
				return err
			}
			if err := w.declareEnv(ctx, tx, s, d.Server.ID, t); err != nil {
				return err
			}
			d.Tools = append(d.Tools, st)
		}
		if req.Audit != nil {
			if err := req.Audit(tx, d.Server, d.Created, d.Tools); err != nil {
				return err
			}
		}
		s.ServerID, s.Error = &d.Server.ID, ""
		return w.saveIn(ctx, tx, s, event{kind: "deployed", data: map[string]any{"server_id": d.Server.ID, "tools": len(d.Tools)}},
			stateEvent(StateDeployed, ""))
	})
	if err != nil {
		return Deployment{}, err
	}
	return d, nil
}

// deployable is the tools to deploy: the named ones, each of which must
// have passed, or every passed tool.
func deployable(s *Session, names []string) ([]*Tool, error) {
	var out []*Tool
	if len(names) == 0 {
		for _, t := range s.Tools {
			if t.Status == ToolPassed && t.ModuleHash != "" {
				out = append(out, t)
			}
		}
		return out, nil
	}
	for _, n := range names {
		t := s.tool(n)
		switch {
		case t == nil:
			return nil, fmt.Errorf("%w: the session has no tool %q", ErrNotFound, n)
		case t.Status != ToolPassed || t.ModuleHash == "":
			return nil, &StateError{State: s.State, Action: "deploy " + n, Reason: "it has not passed its sample calls"}
		}
		out = append(out, t)
	}
	return out, nil
}

func deployServer(ctx context.Context, tx *store.Store, plan tier.Plan, s *Session, req DeployRequest) (store.Server, bool, error) {
	if req.ServerID != "" {
		srv, err := tx.Server(ctx, s.customerID, req.ServerID)
		if errors.Is(err, store.ErrNotFound) {
			return srv, false, fmt.Errorf("%w: there is no server %s", ErrNotFound, req.ServerID)
		}
		return srv, false, err
	}
	name := strings.TrimSpace(req.ServerName)
	if name == "" {
		name = "wizard-" + strings.TrimPrefix(s.ID, "wiz_")[:8]
	}
	srv := store.Server{CustomerID: s.customerID, Name: name, Description: truncate(s.Description, 500)}
	err := tx.CreateServer(ctx, &srv, func(n int) error { return tier.CheckServers(plan, n) })
	if errors.Is(err, store.ErrConflict) {
		return srv, false, inputf("a server named %q exists: name another, or deploy to it with server_id", name)
	}
	return srv, true, err
}

func deployTool(ctx context.Context, tx *store.Store, plan tier.Plan, serverID string, t *Tool, actor string) (store.Tool, error) {
	code, err := json.Marshal(t.Files)
	if err != nil {
		return store.Tool{}, fmt.Errorf("wizard: encode source: %w", err)
	}
	text := string(code)
	v := store.ToolVersion{ModuleHash: t.ModuleHash, ModuleTool: t.Name, Source: store.SourceGo, SourceCode: &text, CreatedBy: actor}
	existing, err := tx.ToolByName(ctx, serverID, t.Name)
	switch {
	case err == nil:
		v.ToolID = existing.ID
		if err := tx.AddToolVersion(ctx, &v); err != nil {
			return store.Tool{}, err
		}
		existing.CurrentVersion = v.Version
		return existing, catalogFree(ctx, tx, serverID)
	case !errors.Is(err, store.ErrNotFound):
		return store.Tool{}, err
	}
	st := store.Tool{ServerID: serverID, Name: t.Name}
	if err = tx.CreateTool(ctx, &st, &v, func(n int) error { return tier.CheckTools(plan, n) }); err != nil {
		return st, err
	}
	return st, catalogFree(ctx, tx, serverID)
}

// catalogFree refuses a deploy after which two modules of the server would
// declare the same prompt or resource (store.CheckCatalog), as a problem
// of the person's input.
func catalogFree(ctx context.Context, tx *store.Store, serverID string) error {
	err := tx.CheckCatalog(ctx, serverID)
	if clash, ok := errors.AsType[*manifest.ClashError](err); ok {
		return inputf("the server cannot take these tools: %v; each prompt name, resource URI and template must be declared by one module of a server only", clash)
	}
	return err
}

// SetSource replaces a tool's source with a person's, builds and tests it
// (with the plan's limits, as a generated source), and saves the outcome
// against version. The edit is kept whether or not it builds.
func (w *Wizard) SetSource(ctx context.Context, customerID, id, name string, version int64, files map[string]string) (*Session, error) {
	s, err := w.Get(ctx, customerID, id)
	if err != nil {
		return nil, err
	}
	if s.Version != version {
		return nil, &ConflictError{Session: id, Current: s.Version, Given: version}
	}
	if s.State.working() {
		return nil, &StateError{State: s.State, Action: "rebuild a tool", Reason: stateReason(s.State, s.State)}
	}
	t := s.tool(name)
	if t == nil {
		return nil, fmt.Errorf("%w: the session has no tool %q", ErrNotFound, name)
	}
	plan, err := w.cfg.Catalog.ForCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	cctx, err := w.withToolSecrets(ctx, s, t.Spec)
	if err != nil {
		return nil, err
	}
	c, err := w.check(cctx, customerID, plan, t.Spec, files, func(ToolStatus) {})
	if err != nil {
		return nil, err
	}
	return w.update(ctx, customerID, id, version, func(s *Session) ([]event, error) {
		t := s.tool(name)
		t.Files, t.Origin, t.Generation = files, OriginHand, nil
		t.Problems, t.BuildOutput, t.Samples, t.ModuleHash = c.problems, c.buildOutput, c.samples, c.moduleHash
		t.Attempts = append(t.Attempts, Attempt{Round: t.Round, Origin: OriginHand, Stage: c.stage, Error: c.errorText()})
		t.Status, t.Error = ToolPassed, ""
		if c.stage != stagePassed {
			t.Status, t.Error = ToolFailed, c.errorText()
		}
		next := s.settle()
		if err := s.move(next, "rebuild a tool"); err != nil {
			return nil, err
		}
		return []event{toolEvent(t), stateEvent(s.State, "")}, nil
	})
}

// RunTool calls a built tool of the session with a person's arguments (the
// playground), with the plan's limits. It changes nothing. Arguments the
// tool's input schema refuses are an *InputError.
func (w *Wizard) RunTool(ctx context.Context, customerID, id, name string, args json.RawMessage) (RunResult, error) {
	s, err := w.Get(ctx, customerID, id)
	if err != nil {
		return RunResult{}, err
	}
	t := s.tool(name)
	if t == nil {
		return RunResult{}, fmt.Errorf("%w: the session has no tool %q", ErrNotFound, name)
	}
	if t.ModuleHash == "" {
		return RunResult{}, &StateError{State: s.State, Action: "run " + name, Reason: "the tool has not been built yet"}
	}
	wasm, err := w.cfg.Store.ModuleData(ctx, t.ModuleHash)
	if err != nil {
		return RunResult{}, err
	}
	mod, err := w.cfg.Engine.Load(ctx, wasm)
	if err != nil {
		return RunResult{}, err
	}
	plan, err := w.cfg.Catalog.ForCustomer(ctx, customerID)
	if err != nil {
		return RunResult{}, err
	}
	if ctx, err = w.withToolSecrets(ctx, s, t.Spec); err != nil {
		return RunResult{}, err
	}
	res, err := w.call(ctx, plan, mod, name, args)
	var refused *sandbox.RequestError
	if errors.As(err, &refused) {
		return RunResult{}, inputf("%s", refused.Reason)
	}
	if err != nil {
		return RunResult{}, err
	}
	return RunResult{Outcome: res.Outcome, Output: res.Answer.Document, Detail: outcomeText(res), Usage: res.Usage, Console: res.Console}, nil
}

// ResumeStale takes over sessions whose work was abandoned (a node died or
// stopped mid-step, so their lease expired) and runs that work again here.
// Tools that finished before stay as they are.
func (w *Wizard) ResumeStale(ctx context.Context) error {
	rows, err := w.cfg.Store.StaleWizardSessions(ctx, []string{string(StateProposing), string(StateGenerating)}, 20)
	if err != nil {
		return err
	}
	for _, row := range rows {
		s, err := w.fromRow(row)
		if err != nil {
			w.log.WarnContext(ctx, "wizard: resuming a session", "session", row.ID, "error", err)
			continue
		}
		token := w.claim(s, s.run)
		err = w.save(ctx, s, event{kind: "resumed", data: map[string]any{"state": s.State}})
		var ce *ConflictError
		if errors.As(err, &ce) {
			continue // another node took it first
		}
		if err != nil {
			return err
		}
		customerID, id := row.CustomerID, row.ID
		if s.State == StateProposing {
			w.spawn(func(ctx context.Context) { w.runPropose(ctx, customerID, id, token) })
		} else {
			w.spawn(func(ctx context.Context) { w.runGenerate(ctx, customerID, id, token) })
		}
	}
	return nil
}
