package tier

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/pkg/store"
)

// ErrUnknownPlan: no stored plan and no default has the name.
var ErrUnknownPlan = errors.New("tier: unknown plan")

// ErrPlanInUse: a plan customers are on cannot be removed.
var ErrPlanInUse = errors.New("tier: plan is in use")

// ErrBuiltInPlan: a built-in plan cannot be removed, only its override.
var ErrBuiltInPlan = errors.New("tier: built-in plans cannot be removed")

// Source says where a plan's limits come from.
type Source string

// The sources of plans.
const (
	SourceDefault  Source = "default"  // a built-in plan with the limits of Defaults
	SourceOverride Source = "override" // a built-in plan whose limits an operator replaced
	SourceOperator Source = "operator" // a plan an operator added
)

// Entry is a plan and where its limits come from.
type Entry struct {
	Plan
	Source Source
}

// Catalog resolves plans: a plan stored by an operator wins over the default
// of the same name. It reads the database on every call, so a change made on
// one node applies on all of them at once.
type Catalog struct {
	store *store.Store
}

// NewCatalog returns a catalog reading plans from s.
func NewCatalog(s *store.Store) *Catalog { return &Catalog{store: s} }

// Plan returns the plan called name: the stored one, else the default, else
// ErrUnknownPlan. A stored plan that fails Validate (changed in the database
// by hand) is an error, never applied.
func (c *Catalog) Plan(ctx context.Context, name string) (Plan, error) {
	e, err := c.Entry(ctx, name)
	if err != nil {
		return Plan{}, err
	}
	if err := e.Validate(); err != nil {
		return Plan{}, fmt.Errorf("tier: stored plan %q is invalid: %w", name, err)
	}
	return e.Plan, nil
}

// Entry returns the plan called name with its source, as Plan does but
// without validating it, so that an operator can see a broken plan and
// replace it.
func (c *Catalog) Entry(ctx context.Context, name string) (Entry, error) {
	row, err := c.store.Plan(ctx, name)
	def, builtIn := Default(name)
	switch {
	case err == nil:
		return entryOf(row), nil
	case !errors.Is(err, store.ErrNotFound):
		return Entry{}, fmt.Errorf("tier: plan %q: %w", name, err)
	case builtIn:
		return Entry{Plan: def, Source: SourceDefault}, nil
	}
	return Entry{}, fmt.Errorf("%w %q", ErrUnknownPlan, name)
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
// name, unvalidated (as Entry).
func (c *Catalog) Plans(ctx context.Context) ([]Entry, error) {
	rows, err := c.store.ListPlans(ctx)
	if err != nil {
		return nil, fmt.Errorf("tier: %w", err)
	}
	byName := map[string]Entry{}
	for _, p := range Defaults() {
		byName[p.Name] = Entry{Plan: p, Source: SourceDefault}
	}
	for _, row := range rows {
		byName[row.Name] = entryOf(row)
	}
	out := make([]Entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// SetPlan validates p and stores it, overriding a default of the same name or
// adding a plan. Limits apply to the next request of every customer on the
// plan; what a customer already has above a lowered count (servers, tools)
// is kept, and only new ones are refused. Record it in the audit log
// (store.ActionPlanChange).
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

// RemovePlan deletes a stored plan. Removing the override of a built-in plan
// brings its default back, customers or not; a built-in plan without an
// override cannot be removed (ErrBuiltInPlan). An operator's own plan
// disappears, which is refused (ErrPlanInUse) while customers are on it.
func (c *Catalog) RemovePlan(ctx context.Context, name string) error {
	_, builtIn := Default(name)
	if !builtIn {
		n, err := c.store.CountCustomersOnTier(ctx, name)
		if err != nil {
			return fmt.Errorf("tier: %w", err)
		}
		if n > 0 {
			who := fmt.Sprintf("%d customers are", n)
			if n == 1 {
				who = "1 customer is"
			}
			return fmt.Errorf("%w: %s on plan %q; move them to another plan first", ErrPlanInUse, who, name)
		}
	}
	err := c.store.DeletePlan(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound) && builtIn:
		return fmt.Errorf("%w: %q has no override to remove", ErrBuiltInPlan, name)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w %q", ErrUnknownPlan, name)
	case err != nil:
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

// entryOf is a stored plan: an override if a default has its name.
func entryOf(r store.Plan) Entry {
	src := SourceOperator
	if _, builtIn := Default(r.Name); builtIn {
		src = SourceOverride
	}
	return Entry{Plan: fromRow(r), Source: src}
}

func fromRow(r store.Plan) Plan {
	return Plan{
		Name: r.Name, Rank: r.Rank,
		ServersPerCustomer: r.ServersPerCustomer, ToolsPerServer: r.ToolsPerServer,
		Fuel: r.Fuel, MemoryBytes: r.MemoryBytes, Timeout: Millis(r.TimeoutMS), OutputBytes: r.OutputBytes,
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
