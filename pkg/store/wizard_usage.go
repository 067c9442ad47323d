package store

import (
	"context"
	"strings"
	"time"
)

// GenerationFilter selects wizard generations: every set field must match.
type GenerationFilter struct {
	CustomerID string
	SessionID  string
	// Since keeps generations made at or after it (zero: all).
	Since time.Time
	// Limit bounds the rows returned; 0 means MaxGenerationRows.
	Limit int
}

// MaxGenerationRows bounds one listing of generations, so a usage report
// over a long time cannot read an unbounded table into memory.
const MaxGenerationRows = 100_000

// WizardGenerations lists the generations filter selects, oldest first:
// the LLM usage behind the eval report and the operator's usage view.
func (s *Store) WizardGenerations(ctx context.Context, f GenerationFilter) ([]WizardGeneration, error) {
	var where []string
	var args []any
	if f.CustomerID != "" {
		where, args = append(where, "customer_id = ?"), append(args, f.CustomerID)
	}
	if f.SessionID != "" {
		where, args = append(where, "session_id = ?"), append(args, f.SessionID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, utc(f.Since))
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxGenerationRows {
		limit = MaxGenerationRows
	}
	query := `SELECT id, customer_id, session_id, tool, purpose, prompt_version, provider, model,
		input_tokens, output_tokens, outcome, created_at FROM wizard_generations`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at, id LIMIT ?"
	out := []WizardGeneration{}
	err := selectAll(ctx, s.db, &out, query, append(args, limit)...)
	return out, wrap(err, "list wizard generations")
}
