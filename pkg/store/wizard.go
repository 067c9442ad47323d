package store

import (
	"context"
	"fmt"
	"time"
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
}

const wizardColumns = `id, customer_id, user_id, server_id, state, description, data, version, created_at, updated_at, expires_at`

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
	_, err := exec(ctx, s.db, `INSERT INTO wizard_sessions (`+wizardColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.CustomerID, w.UserID, w.ServerID, w.State, w.Description, w.Data, w.Version, w.CreatedAt, w.UpdatedAt, w.ExpiresAt)
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

// UpdateWizardSession saves w's server, state, description, data and expiry
// if the stored session is still at w.Version, then advances w.Version.
// ErrConflict if it moved on; ErrNotFound if it is gone.
func (s *Store) UpdateWizardSession(ctx context.Context, w *WizardSession) error {
	if w.Data == nil {
		w.Data = JSON(`{}`)
	}
	updated := s.now()
	n, err := exec(ctx, s.db, `
		UPDATE wizard_sessions
		SET server_id = ?, state = ?, description = ?, data = ?, expires_at = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND customer_id = ? AND version = ?`,
		w.ServerID, w.State, w.Description, w.Data, utc(w.ExpiresAt), updated, w.ID, w.CustomerID, w.Version)
	if err != nil {
		return wrap(err, "update wizard session %s", w.ID)
	}
	if n == 0 {
		return s.versionMiss(ctx, "wizard_sessions", w.ID, w.CustomerID, w.Version)
	}
	w.Version++
	w.UpdatedAt = updated
	w.ExpiresAt = utc(w.ExpiresAt)
	return nil
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
