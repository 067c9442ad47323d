package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// Plans, for operators. A built-in plan (free, pro, enterprise) can be
// overridden by a PUT and brought back to its default limits by a DELETE,
// customers or not; it never disappears. An operator's own plan is removed
// by a DELETE only while no customer is on it (409 otherwise). A changed
// limit applies to the next request of every customer on the plan;
// servers and tools a customer already has above a lowered count are kept.

// actionPlanRemove is the audit action of a DELETE; a PUT records
// store.ActionPlanChange.
const actionPlanRemove = "plan.remove"

// adminPlanView is a plan as an operator sees it: its limits and where they
// come from.
type adminPlanView struct {
	planView
	Source string `json:"source"`
}

func viewAdminPlan(e tier.Entry) adminPlanView {
	return adminPlanView{planView: viewPlan(e.Plan), Source: string(e.Source)}
}

// planFields are the fields of a plan its audit records compare.
func planFields(e tier.Entry) map[string]any {
	v := viewAdminPlan(e)
	return map[string]any{
		"source": v.Source, "rank": v.Rank, "servers_per_customer": v.ServersPerCustomer, "tools_per_server": v.ToolsPerServer,
		"fuel": v.Fuel, "memory_bytes": v.MemoryBytes, "timeout_ms": v.TimeoutMS, "output_bytes": v.OutputBytes,
		"http_requests_per_call": v.HTTPRequestsPerCall, "calls_per_minute": v.CallsPerMinute,
		"llm_generations_per_day": v.LLMGenerationsPerDay,
	}
}

// putPlanRequest sets every limit of a plan: a PUT replaces the plan, so a
// limit left out is an error, never a zero (which for HTTP requests or
// generations would be a valid, silent change).
type putPlanRequest struct {
	// Name is optional; when given it must be the path's.
	Name                 *string `json:"name"`
	Rank                 *int    `json:"rank"`
	ServersPerCustomer   *int    `json:"servers_per_customer"`
	ToolsPerServer       *int    `json:"tools_per_server"`
	Fuel                 *int64  `json:"fuel"`
	MemoryBytes          *int64  `json:"memory_bytes"`
	TimeoutMS            *int64  `json:"timeout_ms"`
	OutputBytes          *int64  `json:"output_bytes"`
	HTTPRequestsPerCall  *int    `json:"http_requests_per_call"`
	CallsPerMinute       *int    `json:"calls_per_minute"`
	LLMGenerationsPerDay *int    `json:"llm_generations_per_day"`
}

// plan is the request as the plan called name, checked by tier.Plan.Validate.
func (r putPlanRequest) plan(name string) (tier.Plan, error) {
	if r.Name != nil && *r.Name != name {
		return tier.Plan{}, badRequest("name %q differs from the plan %q of the path", *r.Name, name)
	}
	var missing []string
	for _, f := range []struct {
		field string
		set   bool
	}{
		{"rank", r.Rank != nil}, {"servers_per_customer", r.ServersPerCustomer != nil}, {"tools_per_server", r.ToolsPerServer != nil},
		{"fuel", r.Fuel != nil}, {"memory_bytes", r.MemoryBytes != nil}, {"timeout_ms", r.TimeoutMS != nil},
		{"output_bytes", r.OutputBytes != nil}, {"http_requests_per_call", r.HTTPRequestsPerCall != nil},
		{"calls_per_minute", r.CallsPerMinute != nil}, {"llm_generations_per_day", r.LLMGenerationsPerDay != nil},
	} {
		if !f.set {
			missing = append(missing, f.field)
		}
	}
	if len(missing) > 0 {
		return tier.Plan{}, badRequest("a plan sets every limit; missing: %s", strings.Join(missing, ", "))
	}
	p := tier.Plan{
		Name: name, Rank: *r.Rank, ServersPerCustomer: *r.ServersPerCustomer, ToolsPerServer: *r.ToolsPerServer,
		Fuel: *r.Fuel, MemoryBytes: *r.MemoryBytes, Timeout: tier.Millis(*r.TimeoutMS), OutputBytes: *r.OutputBytes,
		HTTPRequestsPerCall: *r.HTTPRequestsPerCall, CallsPerMinute: *r.CallsPerMinute, LLMGenerationsPerDay: *r.LLMGenerationsPerDay,
	}
	if err := p.Validate(); err != nil {
		return tier.Plan{}, unprocessable("%s", strings.TrimPrefix(err.Error(), "tier: "))
	}
	return p, nil
}

func (s *Server) listPlans(c echo.Context) error {
	all, err := s.catalog.Plans(c.Request().Context())
	if err != nil {
		return err
	}
	out := list[adminPlanView]{Items: make([]adminPlanView, 0, len(all))}
	for _, e := range all {
		out.Items = append(out.Items, viewAdminPlan(e))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getPlan(c echo.Context) error {
	e, err := s.catalog.Entry(c.Request().Context(), c.Param("plan"))
	if err != nil {
		return planError(c, err)
	}
	return c.JSON(http.StatusOK, viewAdminPlan(e))
}

// putPlan creates or replaces a plan; on a built-in plan, its override.
func (s *Server) putPlan(c echo.Context) error {
	var req putPlanRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name := c.Param("plan")
	p, err := req.plan(name)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var after tier.Entry
	err = s.inTx(c, func(tx *store.Store) error {
		// A catalog on tx: s.catalog would read outside the transaction.
		cat := tier.NewCatalog(tx)
		before, err := planFieldsOf(cat.Entry(ctx, name))
		if err != nil {
			return err
		}
		if err := cat.SetPlan(ctx, p); err != nil {
			return err
		}
		if after, err = cat.Entry(ctx, name); err != nil {
			return err
		}
		return s.audit(c, tx, "", store.ActionPlanChange, name, map[string]any{"changes": changes(before, planFields(after))})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewAdminPlan(after))
}

// deletePlan removes an operator's plan, or the override of a built-in one.
func (s *Server) deletePlan(c echo.Context) error {
	name := c.Param("plan")
	ctx := c.Request().Context()
	err := s.inTx(c, func(tx *store.Store) error {
		cat := tier.NewCatalog(tx)
		before, err := cat.Entry(ctx, name)
		if err != nil {
			return err
		}
		if err := cat.RemovePlan(ctx, name); err != nil {
			return err
		}
		after, err := planFieldsOf(cat.Entry(ctx, name))
		if err != nil {
			return err
		}
		if after == nil {
			// Gone: every field's after is null.
			after = map[string]any{}
			for field := range planFields(before) {
				after[field] = nil
			}
		}
		return s.audit(c, tx, "", actionPlanRemove, name, map[string]any{"changes": changes(planFields(before), after)})
	})
	if err != nil {
		return planError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// planFieldsOf is planFields of an entry that may not exist (nil then).
func planFieldsOf(e tier.Entry, err error) (map[string]any, error) {
	switch {
	case errors.Is(err, tier.ErrUnknownPlan):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return planFields(e), nil
}

// planError answers the catalog's refusals: an unknown plan is not found; a
// built-in plan without an override, or a plan customers are on, cannot be
// removed.
func planError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, tier.ErrUnknownPlan):
		return notFound("there is no plan called %q", c.Param("plan"))
	case errors.Is(err, tier.ErrPlanInUse), errors.Is(err, tier.ErrBuiltInPlan):
		return conflict("%s", strings.TrimPrefix(err.Error(), "tier: "))
	}
	return err
}
