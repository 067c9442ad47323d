package store

import (
	"context"
	"strings"
	"time"
)

// Actions recorded in the audit log. Callers may add their own; these name
// the ones the issue requires, so every package spells them the same.
const (
	ActionModuleBuild      = "module.build"
	ActionServerDeploy     = "server.deploy"
	ActionServerDelete     = "server.delete"
	ActionToolRun          = "tool.run"
	ActionLibraryUpload    = "library.upload"
	ActionLibraryDeprecate = "library.deprecate"
	ActionTierChange       = "customer.tier"
	ActionPlanChange       = "plan.change"
	ActionAPIKeyCreate     = "apikey.create"
	ActionAPIKeyRevoke     = "apikey.revoke"
	ActionEnvValueSet      = "envvar.set"
	ActionWizardGenerate   = "wizard.generate"
)

// AuditEntry records who (Actor: "user:ID", "key:ID", "operator", ...) did
// what (Action) to what (Target), for which customer if any. Details is a
// JSON object with the rest; never put secret values in it.
type AuditEntry struct {
	ID         int64     `db:"id"`
	Actor      string    `db:"actor"`
	CustomerID *string   `db:"customer_id"`
	Action     string    `db:"action"`
	Target     string    `db:"target"`
	Details    JSON      `db:"details"`
	CreatedAt  time.Time `db:"created_at"`
}

// AuditFilter selects entries for ListAudit; empty fields select all.
type AuditFilter struct {
	CustomerID string
	Actor      string
	Action     string
	Before     int64 // only ids below this, to page backwards
	Limit      int   // default and maximum MaxPage
}

const auditColumns = `id, actor, customer_id, action, target, details, created_at`

// RecordAudit appends a to the log, setting a.ID and a.CreatedAt. A nil
// Details is stored as {}.
func (s *Store) RecordAudit(ctx context.Context, a *AuditEntry) error {
	if a.Details == nil {
		a.Details = JSON(`{}`)
	}
	a.CreatedAt = s.now()
	err := s.db.QueryRowxContext(ctx, s.db.Rebind(`
		INSERT INTO audit_log (actor, customer_id, action, target, details, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		RETURNING id`),
		a.Actor, a.CustomerID, a.Action, a.Target, a.Details, a.CreatedAt).Scan(&a.ID)
	return wrap(err, "record audit entry %s", a.Action)
}

// ListAudit returns entries, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.CustomerID != "" {
		where, args = append(where, "customer_id = ?"), append(args, f.CustomerID)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	args = append(args, pageSize(f.Limit))
	out := []AuditEntry{}
	err := selectAll(ctx, s.db, &out, `SELECT `+auditColumns+` FROM audit_log
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	return out, wrap(err, "list audit log")
}

// CountAuditSince counts a customer's entries of one action at or after
// since: LLM generations per day, for instance.
func (s *Store) CountAuditSince(ctx context.Context, customerID, action string, since time.Time) (int, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT COUNT(*) FROM audit_log WHERE customer_id = ? AND action = ? AND created_at >= ?`,
		customerID, action, utc(since))
	return n, wrap(err, "count %s entries of customer %s", action, customerID)
}
