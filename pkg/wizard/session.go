package wizard

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// event is one line of a session's progress.
type event struct {
	kind string
	tool string
	data map[string]any
}

func stateEvent(s State, msg string) event {
	d := map[string]any{"state": s}
	if msg != "" {
		d["message"] = msg
	}
	return event{kind: "state", data: d}
}

func toolEvent(t *Tool) event {
	d := map[string]any{"status": t.Status, "round": t.Round}
	if t.Error != "" {
		d["error"] = t.Error
	}
	return event{kind: "tool", tool: t.Name, data: d}
}

// fromRow decodes a stored session.
func (w *Wizard) fromRow(row store.WizardSession) (*Session, error) {
	var d data
	if err := json.Unmarshal(row.Data, &d); err != nil {
		return nil, fmt.Errorf("wizard: session %s holds data it cannot read: %w", row.ID, err)
	}
	s := &Session{
		ID: row.ID, State: State(row.State), Version: row.Version, Description: row.Description, ServerID: row.ServerID,
		Proposal: d.Proposal, Tools: d.Tools, Error: d.Error, LLM: w.HasLLM(), CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		customerID: row.CustomerID, row: rowLease{token: row.LeaseToken, until: row.LeaseUntil}, run: d.Run,
		secrets: d.Secrets, SecretsSet: secretNames(d.Secrets),
	}
	if s.Tools == nil {
		s.Tools = []*Tool{}
	}
	return s, nil
}

// Get returns one of the customer's sessions.
func (w *Wizard) Get(ctx context.Context, customerID, id string) (*Session, error) {
	row, err := w.cfg.Store.WizardSession(ctx, customerID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: there is no wizard session %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	return w.fromRow(row)
}

// List returns the customer's sessions, most recent first.
func (w *Wizard) List(ctx context.Context, customerID string) ([]*Session, error) {
	rows, err := w.cfg.Store.ListWizardSessions(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := make([]*Session, 0, len(rows))
	for _, r := range rows {
		s, err := w.fromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// save writes s over the version it was read at, with its lease and run
// and the events that report the change. A lost race is a *ConflictError.
func (w *Wizard) save(ctx context.Context, s *Session, evs ...event) error {
	return w.saveIn(ctx, w.cfg.Store, s, evs...)
}

// saveIn is save through st, which may be bound to a transaction.
func (w *Wizard) saveIn(ctx context.Context, st *store.Store, s *Session, evs ...event) error {
	d := data{Proposal: s.Proposal, Tools: s.Tools, Error: truncate(s.Error, maxErrorBytes), Run: s.run, Secrets: s.secrets}
	doc, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("wizard: encode session %s: %w", s.ID, err)
	}
	row := store.WizardSession{
		ID: s.ID, CustomerID: s.customerID, ServerID: s.ServerID, State: string(s.State), Description: s.Description,
		Data: doc, Version: s.Version, ExpiresAt: w.cfg.Store.Now().Add(w.cfg.SessionTTL),
		LeaseToken: s.row.token, LeaseUntil: s.row.until,
	}
	stored := make([]store.WizardEvent, 0, len(evs))
	for _, e := range evs {
		b, err := json.Marshal(e.data)
		if err != nil {
			return fmt.Errorf("wizard: encode event: %w", err)
		}
		stored = append(stored, store.WizardEvent{Kind: e.kind, Tool: e.tool, Data: b})
	}
	err = st.UpdateWizardSession(ctx, &row, stored...)
	switch {
	case errors.Is(err, store.ErrConflict):
		cur, gerr := st.WizardSession(ctx, s.customerID, s.ID)
		if gerr != nil {
			return gerr
		}
		return &ConflictError{Session: s.ID, Current: cur.Version, Given: s.Version}
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: there is no wizard session %s", ErrNotFound, s.ID)
	case err != nil:
		return err
	}
	s.Version, s.UpdatedAt = row.Version, row.UpdatedAt
	w.hub.notify(s.ID)
	return nil
}

// update applies a person's change to the session at version, which must
// be current: the change is refused with a *ConflictError otherwise. fn
// returns the events that report the change.
func (w *Wizard) update(ctx context.Context, customerID, id string, version int64, fn func(s *Session) ([]event, error)) (*Session, error) {
	s, err := w.Get(ctx, customerID, id)
	if err != nil {
		return nil, err
	}
	if s.Version != version {
		return nil, &ConflictError{Session: id, Current: s.Version, Given: version}
	}
	evs, err := fn(s)
	if err != nil {
		return nil, err
	}
	if err := w.save(ctx, s, evs...); err != nil {
		return nil, err
	}
	return s, nil
}

// claim gives s a new lease for work that starts now on run (the tools of
// a generation), and returns its token.
func (w *Wizard) claim(s *Session, run []string) string {
	token := rand.Text()
	until := w.cfg.Store.Now().Add(w.cfg.LeaseTTL)
	s.row, s.run = rowLease{token: &token, until: &until}, run
	return token
}

// errLeaseLost ends a worker whose session another worker took over.
var errLeaseLost = errors.New("wizard: the session's lease passed to another worker")

// work applies a worker's change under its lease token, retrying when a
// person's change got in between: the worker's change is made again on
// the current session. The lease is renewed with every change; release
// ends it.
func (w *Wizard) work(ctx context.Context, customerID, id, token string, release bool, fn func(s *Session) []event) error {
	for attempt := 0; ; attempt++ {
		s, err := w.Get(ctx, customerID, id)
		if err != nil {
			return err
		}
		if s.row.token == nil || *s.row.token != token {
			return errLeaseLost
		}
		evs := fn(s)
		if release {
			s.row, s.run = rowLease{}, nil
		} else {
			until := w.cfg.Store.Now().Add(w.cfg.LeaseTTL)
			s.row.until = &until
		}
		err = w.save(ctx, s, evs...)
		var ce *ConflictError
		if errors.As(err, &ce) && attempt < maxWorkRetries {
			continue
		}
		return err
	}
}

// maxWorkRetries bounds how often a worker's change is made again after
// losing a race; people's changes are rare, so this is never reached but
// by a bug.
const maxWorkRetries = 20

// heartbeat renews the lease every third of its life until ctx ends, and
// cancels the work when the lease was lost.
func (w *Wizard) heartbeat(ctx context.Context, cancel context.CancelFunc, customerID, id, token string) {
	t := time.NewTicker(w.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.work(ctx, customerID, id, token, false, func(*Session) []event { return nil })
		if errors.Is(err, errLeaseLost) || errors.Is(err, ErrNotFound) {
			cancel()
			return
		}
		if err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "wizard: renewing a lease", "session", id, "error", err)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
