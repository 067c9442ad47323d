package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// WizardSession is the state of one run of the browser wizard: what the
// person described, what the LLM proposed and generated (Data, owned by
// pkg/wizard), and the server it is building. Two tabs or retried requests
// can race on a session, so updates are optimistic like servers'.
type WizardSession struct {
	ID          string    `db:"id"`
	CustomerID  string    `db:"customer_id"`
	UserID      *string   `db:"user_id"`
	ServerID    *string   `db:"server_id"`
	State       string    `db:"state"`
	Description string    `db:"description"`
	Data        JSON      `db:"data"`
	Version     int64     `db:"version"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
	ExpiresAt   time.Time `db:"expires_at"`
	// LeaseToken and LeaseUntil say who works on the session and until
	// when (nil: nobody). A worker renews its lease while it works; an
	// expired lease is free for any node to take over.
	LeaseToken *string    `db:"lease_token"`
	LeaseUntil *time.Time `db:"lease_until"`
}

// WizardEvent is one step of a session's progress, numbered from 1 per
// session, for the event stream and its replay.
type WizardEvent struct {
	SessionID string    `db:"session_id"`
	Seq       int64     `db:"seq"`
	Kind      string    `db:"kind"`
	Tool      string    `db:"tool"`
	Data      JSON      `db:"data"`
	CreatedAt time.Time `db:"created_at"`
}

const wizardColumns = `id, customer_id, user_id, server_id, state, description, data, version, created_at, updated_at, expires_at, lease_token, lease_until`

// CreateWizardSession inserts w, setting its ID, version and times. A nil
// Data is stored as {}.
func (s *Store) CreateWizardSession(ctx context.Context, w *WizardSession) error {
	if w.Data == nil {
		w.Data = JSON(`{}`)
	}
	w.ID = newID("wiz")
	w.Version = 1
	w.CreatedAt = s.now()
	w.UpdatedAt = w.CreatedAt
	w.ExpiresAt = utc(w.ExpiresAt)
	w.LeaseUntil = utcPtr(w.LeaseUntil)
	_, err := exec(ctx, s.db, `INSERT INTO wizard_sessions (`+wizardColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.CustomerID, w.UserID, w.ServerID, w.State, w.Description, w.Data, w.Version, w.CreatedAt, w.UpdatedAt, w.ExpiresAt,
		w.LeaseToken, w.LeaseUntil)
	return wrap(err, "create wizard session")
}

// WizardSession returns one of a customer's sessions that has not expired.
func (s *Store) WizardSession(ctx context.Context, customerID, id string) (WizardSession, error) {
	var w WizardSession
	err := get(ctx, s.db, &w, `SELECT `+wizardColumns+` FROM wizard_sessions WHERE id = ? AND customer_id = ? AND expires_at > ?`,
		id, customerID, s.now())
	return w, wrap(err, "get wizard session %s", id)
}

// ListWizardSessions returns a customer's unexpired sessions, most recently
// updated first.
func (s *Store) ListWizardSessions(ctx context.Context, customerID string) ([]WizardSession, error) {
	out := []WizardSession{}
	err := selectAll(ctx, s.db, &out, `
		SELECT `+wizardColumns+` FROM wizard_sessions WHERE customer_id = ? AND expires_at > ?
		ORDER BY updated_at DESC, id`, customerID, s.now())
	return out, wrap(err, "list wizard sessions of customer %s", customerID)
}

// UpdateWizardSession saves w's server, state, description, data, expiry
// and lease if the stored session is still at w.Version, then advances
// w.Version, and appends events (numbered after the session's last one) in
// the same transaction: a change and the events that report it are stored
// together or not at all. ErrConflict if it moved on; ErrNotFound if it is
// gone.
func (s *Store) UpdateWizardSession(ctx context.Context, w *WizardSession, events ...WizardEvent) error {
	if w.Data == nil {
		w.Data = JSON(`{}`)
	}
	updated := s.now()
	lease := utcPtr(w.LeaseUntil)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		n, err := exec(ctx, tx, `
			UPDATE wizard_sessions
			SET server_id = ?, state = ?, description = ?, data = ?, expires_at = ?, lease_token = ?, lease_until = ?,
			    version = version + 1, updated_at = ?
			WHERE id = ? AND customer_id = ? AND version = ?`,
			w.ServerID, w.State, w.Description, w.Data, utc(w.ExpiresAt), w.LeaseToken, lease, updated, w.ID, w.CustomerID, w.Version)
		if err != nil {
			return wrap(err, "update wizard session %s", w.ID)
		}
		if n == 0 {
			var current int64
			if err := get(ctx, tx, &current, `SELECT version FROM wizard_sessions WHERE id = ? AND customer_id = ?`, w.ID, w.CustomerID); err != nil {
				return wrap(err, "update wizard session %s", w.ID)
			}
			return fmt.Errorf("store: update wizard session %s: %w: it is at version %d, the update was for version %d",
				w.ID, ErrConflict, current, w.Version)
		}
		// The UPDATE holds the session row's lock (SQLite: the database's),
		// so numbering the events from the last one cannot race.
		return appendWizardEvents(ctx, tx, w.ID, updated, events)
	})
	if err != nil {
		return err
	}
	w.Version++
	w.UpdatedAt = updated
	w.ExpiresAt = utc(w.ExpiresAt)
	w.LeaseUntil = lease
	return nil
}

func appendWizardEvents(ctx context.Context, tx *sqlx.Tx, sessionID string, at time.Time, events []WizardEvent) error {
	if len(events) == 0 {
		return nil
	}
	var last int64
	if err := get(ctx, tx, &last, `SELECT COALESCE(MAX(seq), 0) FROM wizard_events WHERE session_id = ?`, sessionID); err != nil {
		return wrap(err, "last event of wizard session %s", sessionID)
	}
	for i, e := range events {
		if e.Data == nil {
			e.Data = JSON(`{}`)
		}
		_, err := exec(ctx, tx, `INSERT INTO wizard_events (session_id, seq, kind, tool, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			sessionID, last+int64(i)+1, e.Kind, e.Tool, e.Data, at)
		if err != nil {
			return wrap(err, "append event to wizard session %s", sessionID)
		}
	}
	return nil
}

// WizardEvents returns up to limit events of a customer's session numbered
// after after, in order. A session of another customer has none.
func (s *Store) WizardEvents(ctx context.Context, customerID, sessionID string, after int64, limit int) ([]WizardEvent, error) {
	out := []WizardEvent{}
	err := selectAll(ctx, s.db, &out, `
		SELECT e.session_id, e.seq, e.kind, e.tool, e.data, e.created_at
		FROM wizard_events e JOIN wizard_sessions w ON w.id = e.session_id
		WHERE e.session_id = ? AND w.customer_id = ? AND e.seq > ?
		ORDER BY e.seq LIMIT ?`, sessionID, customerID, after, limit)
	return out, wrap(err, "list events of wizard session %s", sessionID)
}

// StaleWizardSessions returns up to limit unexpired sessions in one of
// states whose lease has run out: work a node started and did not finish.
func (s *Store) StaleWizardSessions(ctx context.Context, states []string, limit int) ([]WizardSession, error) {
	out := []WizardSession{}
	if len(states) == 0 {
		return out, nil
	}
	now := s.now()
	query, args, err := sqlx.In(`
		SELECT `+wizardColumns+` FROM wizard_sessions
		WHERE state IN (?) AND expires_at > ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY updated_at, id LIMIT ?`, states, now, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: stale wizard sessions: %w", err)
	}
	err = selectAll(ctx, s.db, &out, query, args...)
	return out, wrap(err, "list stale wizard sessions")
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}

// DeleteWizardSession deletes one of a customer's sessions.
func (s *Store) DeleteWizardSession(ctx context.Context, customerID, id string) error {
	err := execOne(ctx, s.db, `DELETE FROM wizard_sessions WHERE id = ? AND customer_id = ?`, id, customerID)
	return wrap(err, "delete wizard session %s", id)
}

// DeleteExpiredWizardSessions deletes sessions that expired before now and
// says how many.
func (s *Store) DeleteExpiredWizardSessions(ctx context.Context, now time.Time) (int64, error) {
	n, err := exec(ctx, s.db, `DELETE FROM wizard_sessions WHERE expires_at <= ?`, utc(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired wizard sessions: %w", err)
	}
	return n, nil
}

// WizardGeneration is one LLM call of the wizard, counted against the
// customer's daily quota.
type WizardGeneration struct {
	ID            string    `db:"id"`
	CustomerID    string    `db:"customer_id"`
	SessionID     string    `db:"session_id"`
	Tool          string    `db:"tool"`
	Purpose       string    `db:"purpose"`
	PromptVersion string    `db:"prompt_version"`
	Provider      string    `db:"provider"`
	Model         string    `db:"model"`
	InputTokens   int64     `db:"input_tokens"`
	OutputTokens  int64     `db:"output_tokens"`
	Outcome       string    `db:"outcome"`
	CreatedAt     time.Time `db:"created_at"`
}

// ReserveWizardGeneration records g (setting its ID and time) if check
// allows one more generation for the customer, given how many were made
// since since. The count and the insert happen under a lock on the
// customer's row, so concurrent reservations cannot both slip under the
// quota. check's error is returned as is.
func (s *Store) ReserveWizardGeneration(ctx context.Context, g *WizardGeneration, since time.Time, check LimitCheck) error {
	if check == nil {
		return fmt.Errorf("store: reserve wizard generation: no limit check")
	}
	row := *g
	row.ID = newID("gen")
	row.CreatedAt = s.now()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockCustomer(ctx, tx, row.CustomerID); err != nil {
			return err
		}
		var n int
		if err := get(ctx, tx, &n, `SELECT COUNT(*) FROM wizard_generations WHERE customer_id = ? AND created_at >= ?`,
			row.CustomerID, utc(since)); err != nil {
			return wrap(err, "count wizard generations of customer %s", row.CustomerID)
		}
		if err := check(n); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `
			INSERT INTO wizard_generations (id, customer_id, session_id, tool, purpose, prompt_version, provider, model,
			    input_tokens, output_tokens, outcome, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			row.ID, row.CustomerID, row.SessionID, row.Tool, row.Purpose, row.PromptVersion, row.Provider, row.Model,
			row.InputTokens, row.OutputTokens, row.Outcome, row.CreatedAt)
		return wrap(err, "record wizard generation")
	})
	if err != nil {
		return err
	}
	*g = row
	return nil
}

// FinishWizardGeneration records who answered a reserved generation, what
// it cost and how it ended.
func (s *Store) FinishWizardGeneration(ctx context.Context, g WizardGeneration) error {
	err := execOne(ctx, s.db, `
		UPDATE wizard_generations SET provider = ?, model = ?, input_tokens = ?, output_tokens = ?, outcome = ?
		WHERE id = ?`, g.Provider, g.Model, g.InputTokens, g.OutputTokens, g.Outcome, g.ID)
	return wrap(err, "finish wizard generation %s", g.ID)
}

// CountWizardGenerations says how many generations a customer made since
// since.
func (s *Store) CountWizardGenerations(ctx context.Context, customerID string, since time.Time) (int, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT COUNT(*) FROM wizard_generations WHERE customer_id = ? AND created_at >= ?`,
		customerID, utc(since))
	return n, wrap(err, "count wizard generations of customer %s", customerID)
}
