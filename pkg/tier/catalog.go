package tier

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// ErrUnknownPlan: no stored plan and no default has the name.
var ErrUnknownPlan = errors.New("tier: unknown plan")

// ErrPlanInUse: a plan customers are on cannot be removed.
var ErrPlanInUse = errors.New("tier: plan is in use")

// Catalog resolves plans: a plan stored by an operator wins over the default
// of the same name. It reads the database on every call, so a change made on
// one node applies on all of them at once.
type Catalog struct {
	store *store.Store
}

// NewCatalog returns a catalog reading plans from s.
func NewCatalog(s *store.Store) *Catalog { return &Catalog{store: s} }

// Plan returns the plan called name: the stored one, else the default, else
// ErrUnknownPlan.
func (c *Catalog) Plan(ctx context.Context, name string) (Plan, error) {
	row, err := c.store.Plan(ctx, name)
	switch {
	case err == nil:
		p := fromRow(row)
		if err := p.Validate(); err != nil {
			return Plan{}, fmt.Errorf("tier: stored plan %q is invalid: %w", name, err)
		}
		return p, nil
	case !errors.Is(err, store.ErrNotFound):
		return Plan{}, fmt.Errorf("tier: plan %q: %w", name, err)
	}
	if p, ok := Default(name); ok {
		return p, nil
	}
	return Plan{}, fmt.Errorf("%w %q", ErrUnknownPlan, name)
}

// ForCustomer returns the plan of a customer, read from the database. A
// customer whose tier names no plan is an error: the caller must not guess.
func (c *Catalog) ForCustomer(ctx context.Context, customerID string) (Plan, error) {
	name, err := c.store.CustomerTier(ctx, customerID)
	if err != nil {
		return Plan{}, fmt.Errorf("tier: plan of customer %s: %w", customerID, err)
	}
	p, err := c.Plan(ctx, name)
	if err != nil {
		return Plan{}, fmt.Errorf("tier: plan of customer %s: %w", customerID, err)
	}
	return p, nil
}

// Plans returns every plan, defaults merged with stored ones, by rank then
// name.
func (c *Catalog) Plans(ctx context.Context) ([]Plan, error) {
	rows, err := c.store.ListPlans(ctx)
	if err != nil {
		return nil, fmt.Errorf("tier: %w", err)
	}
	byName := map[string]Plan{}
	for _, p := range Defaults() {
		byName[p.Name] = p
	}
	for _, row := range rows {
		byName[row.Name] = fromRow(row)
	}
	out := make([]Plan, 0, len(byName))
	for _, p := range byName {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Plan) int {
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// SetPlan validates p and stores it, overriding a default of the same name or
// adding a plan. Record it in the audit log (store.ActionPlanChange).
func (c *Catalog) SetPlan(ctx context.Context, p Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	row := toRow(p)
	if err := c.store.PutPlan(ctx, &row); err != nil {
		return fmt.Errorf("tier: %w", err)
	}
	return nil
}

// RemovePlan deletes a stored plan: a default comes back into force, an
// operator's own plan disappears, which is refused (ErrPlanInUse) while
// customers are on it.
func (c *Catalog) RemovePlan(ctx context.Context, name string) error {
	if _, isDefault := Default(name); !isDefault {
		n, err := c.store.CountCustomersOnTier(ctx, name)
		if err != nil {
			return fmt.Errorf("tier: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %d customers are on plan %q", ErrPlanInUse, n, name)
		}
	}
	if err := c.store.DeletePlan(ctx, name); err != nil {
		return fmt.Errorf("tier: %w", err)
	}
	return nil
}

// SetCustomerTier moves a customer to the plan called name, which must exist.
// Record it in the audit log (store.ActionTierChange).
func (c *Catalog) SetCustomerTier(ctx context.Context, customerID, name string) error {
	if _, err := c.Plan(ctx, name); err != nil {
		return err
	}
	if err := c.store.SetCustomerTier(ctx, customerID, name); err != nil {
		return fmt.Errorf("tier: %w", err)
	}
	return nil
}

// CheckLibrary says whether plan p may use a library module whose minimum
// tier is the plan called minTier.
func (c *Catalog) CheckLibrary(ctx context.Context, p Plan, minTier string) error {
	need, err := c.Plan(ctx, minTier)
	if err != nil {
		return fmt.Errorf("tier: library module's minimum tier: %w", err)
	}
	return CheckLibrary(p, need)
}

func fromRow(r store.Plan) Plan {
	return Plan{
		Name: r.Name, Rank: r.Rank,
		ServersPerCustomer: r.ServersPerCustomer, ToolsPerServer: r.ToolsPerServer,
		Fuel: r.Fuel, MemoryBytes: r.MemoryBytes, Timeout: time.Duration(r.TimeoutMS) * time.Millisecond, OutputBytes: r.OutputBytes,
		HTTPRequestsPerCall: r.HTTPRequestsPerCall, CallsPerMinute: r.CallsPerMinute, LLMGenerationsPerDay: r.LLMGenerationsPerDay,
	}
}

func toRow(p Plan) store.Plan {
	return store.Plan{
		Name: p.Name, Rank: p.Rank,
		ServersPerCustomer: p.ServersPerCustomer, ToolsPerServer: p.ToolsPerServer,
		Fuel: p.Fuel, MemoryBytes: p.MemoryBytes, TimeoutMS: p.Timeout.Milliseconds(), OutputBytes: p.OutputBytes,
		HTTPRequestsPerCall: p.HTTPRequestsPerCall, CallsPerMinute: p.CallsPerMinute, LLMGenerationsPerDay: p.LLMGenerationsPerDay,
	}
}
