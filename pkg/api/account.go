package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/tier"
)

// planView is a plan's limits, named as tier.Limit names them.
type planView struct {
	Name                 string `json:"name"`
	Rank                 int    `json:"rank"`
	ServersPerCustomer   int    `json:"servers_per_customer"`
	ToolsPerServer       int    `json:"tools_per_server"`
	Fuel                 int64  `json:"fuel"`
	MemoryBytes          int64  `json:"memory_bytes"`
	TimeoutMS            int64  `json:"timeout_ms"`
	OutputBytes          int64  `json:"output_bytes"`
	HTTPRequestsPerCall  int    `json:"http_requests_per_call"`
	CallsPerMinute       int    `json:"calls_per_minute"`
	LLMGenerationsPerDay int    `json:"llm_generations_per_day"`
}

func viewPlan(p tier.Plan) planView {
	return planView{
		Name: p.Name, Rank: p.Rank, ServersPerCustomer: p.ServersPerCustomer, ToolsPerServer: p.ToolsPerServer,
		Fuel: p.Fuel, MemoryBytes: p.MemoryBytes, TimeoutMS: p.Timeout.Milliseconds(), OutputBytes: p.OutputBytes,
		HTTPRequestsPerCall: p.HTTPRequestsPerCall, CallsPerMinute: p.CallsPerMinute, LLMGenerationsPerDay: p.LLMGenerationsPerDay,
	}
}

type accountView struct {
	Customer customerView `json:"customer"`
	Plan     planView     `json:"plan"`
	Servers  int          `json:"servers"`
	// Role is the caller's role, which the policy judges its requests by
	// (policy.go): what a client may offer to do.
	Role string `json:"role"`
}

// getAccount shows the caller their customer, plan limits and usage, so a
// client can tell a limit is near before it is crossed.
func (s *Server) getAccount(c echo.Context) error {
	p := caller(c)
	ctx := c.Request().Context()
	cust, err := s.store.Customer(ctx, p.CustomerID)
	if err != nil {
		return err
	}
	plan, err := s.catalog.ForCustomer(ctx, p.CustomerID)
	if err != nil {
		return err
	}
	n, err := s.store.CountServers(ctx, p.CustomerID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, accountView{Customer: viewCustomer(cust), Plan: viewPlan(plan), Servers: n, Role: p.role.String()})
}
