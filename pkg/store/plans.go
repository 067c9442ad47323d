package store

import (
	"context"
	"time"
)

// Plan is an operator's setting of a plan's limits: a row overriding one of
// the defaults compiled into pkg/tier, or a plan of the operator's own.
// pkg/tier owns the meaning of each limit and validates them; the table's
// CHECK constraints are the last line of defence.
type Plan struct {
	Name                 string    `db:"name"`
	Rank                 int       `db:"rank"`
	ServersPerCustomer   int       `db:"servers_per_customer"`
	ToolsPerServer       int       `db:"tools_per_server"`
	Fuel                 int64     `db:"fuel"`
	MemoryBytes          int64     `db:"memory_bytes"`
	TimeoutMS            int64     `db:"timeout_ms"`
	OutputBytes          int64     `db:"output_bytes"`
	HTTPRequestsPerCall  int       `db:"http_requests_per_call"`
	CallsPerMinute       int       `db:"calls_per_minute"`
	LLMGenerationsPerDay int       `db:"llm_generations_per_day"`
	UpdatedAt            time.Time `db:"updated_at"`
}

const planColumns = `name, rank, servers_per_customer, tools_per_server, fuel, memory_bytes, timeout_ms,
	output_bytes, http_requests_per_call, calls_per_minute, llm_generations_per_day, updated_at`

// PutPlan creates or replaces the plan named p.Name and sets p.UpdatedAt.
// Nodes caching plans hear of it (AccessPlan).
func (s *Store) PutPlan(ctx context.Context, p *Plan) error {
	return s.changeAccess(ctx, AccessPlan, p.Name, func(tx *Store) error { return tx.putPlan(ctx, p) })
}

func (s *Store) putPlan(ctx context.Context, p *Plan) error {
	p.UpdatedAt = s.now()
	_, err := exec(ctx, s.db, `
		INSERT INTO plans (`+planColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			rank = excluded.rank,
			servers_per_customer = excluded.servers_per_customer,
			tools_per_server = excluded.tools_per_server,
			fuel = excluded.fuel,
			memory_bytes = excluded.memory_bytes,
			timeout_ms = excluded.timeout_ms,
			output_bytes = excluded.output_bytes,
			http_requests_per_call = excluded.http_requests_per_call,
			calls_per_minute = excluded.calls_per_minute,
			llm_generations_per_day = excluded.llm_generations_per_day,
			updated_at = excluded.updated_at`,
		p.Name, p.Rank, p.ServersPerCustomer, p.ToolsPerServer, p.Fuel, p.MemoryBytes, p.TimeoutMS,
		p.OutputBytes, p.HTTPRequestsPerCall, p.CallsPerMinute, p.LLMGenerationsPerDay, p.UpdatedAt)
	return wrap(err, "put plan %q", p.Name)
}

// Plan returns the stored plan called name; ErrNotFound if the operator has
// not stored one (pkg/tier then uses its default, if it has one).
func (s *Store) Plan(ctx context.Context, name string) (Plan, error) {
	var p Plan
	err := get(ctx, s.db, &p, `SELECT `+planColumns+` FROM plans WHERE name = ?`, name)
	return p, wrap(err, "get plan %q", name)
}

// ListPlans returns every stored plan, by rank then name.
func (s *Store) ListPlans(ctx context.Context) ([]Plan, error) {
	out := []Plan{}
	err := selectAll(ctx, s.db, &out, `SELECT `+planColumns+` FROM plans ORDER BY rank, name`)
	return out, wrap(err, "list plans")
}

// DeletePlan removes the stored plan called name. Nodes caching plans
// hear of it (AccessPlan).
func (s *Store) DeletePlan(ctx context.Context, name string) error {
	return s.changeAccess(ctx, AccessPlan, name, func(tx *Store) error {
		return wrap(execOne(ctx, tx.db, `DELETE FROM plans WHERE name = ?`, name), "delete plan %q", name)
	})
}
