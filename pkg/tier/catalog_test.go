package tier_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
)

func TestForCustomerReadsTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := tier.NewCatalog(s)
		for _, want := range tier.Defaults() {
			cust := storetest.Customer(t, s, want.Name)
			got, err := c.ForCustomer(ctx, cust.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("customer on %s got %+v", want.Name, got)
			}
		}
		// A tier nobody defined is an error, not a fallback.
		gold := storetest.Customer(t, s, "gold")
		if p, err := c.ForCustomer(ctx, gold.ID); !errors.Is(err, tier.ErrUnknownPlan) {
			t.Fatalf("unknown tier resolved to %+v, %v", p, err)
		}
		if _, err := c.ForCustomer(ctx, "cus_missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing customer: %v", err)
		}
	})
}

func TestOperatorOverrides(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := tier.NewCatalog(s)
		cust := storetest.Customer(t, s, tier.Free)

		// Override the free plan: the customer gets the new numbers.
		free, _ := tier.Default(tier.Free)
		free.ServersPerCustomer, free.Timeout = 1, 1500*time.Millisecond
		if err := c.SetPlan(ctx, free); err != nil {
			t.Fatal(err)
		}
		got, err := c.ForCustomer(ctx, cust.ID)
		if err != nil || got != free {
			t.Fatalf("after override %+v, %v", got, err)
		}
		bad := free
		bad.Fuel = 0
		if err := c.SetPlan(ctx, bad); err == nil {
			t.Fatal("an invalid plan was stored")
		}

		// An operator's own plan.
		team := free
		team.Name, team.Rank, team.ServersPerCustomer = "team", 1, 50
		if err := c.SetPlan(ctx, team); err != nil {
			t.Fatal(err)
		}
		if err := c.SetCustomerTier(ctx, cust.ID, "team"); err != nil {
			t.Fatal(err)
		}
		if got, err := c.ForCustomer(ctx, cust.ID); err != nil || got != team {
			t.Fatalf("on team: %+v, %v", got, err)
		}
		if err := c.SetCustomerTier(ctx, cust.ID, "gold"); !errors.Is(err, tier.ErrUnknownPlan) {
			t.Fatalf("moved to an unknown plan: %v", err)
		}
		if name, err := s.CustomerTier(ctx, cust.ID); err != nil || name != "team" {
			t.Fatalf("tier after a refused move: %q, %v", name, err)
		}
		plans, err := c.Plans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range plans {
			names = append(names, p.Name+":"+string(p.Source))
		}
		if fmt.Sprint(names) != "[free:override pro:default team:operator enterprise:default]" {
			t.Fatalf("plans %v", names)
		}
		if e, err := c.Entry(ctx, "team"); err != nil || e.Plan != team || e.Source != tier.SourceOperator {
			t.Fatalf("entry team: %+v, %v", e, err)
		}

		if err := c.RemovePlan(ctx, "team"); !errors.Is(err, tier.ErrPlanInUse) {
			t.Fatalf("removed a plan in use: %v", err)
		}
		if err := c.SetCustomerTier(ctx, cust.ID, tier.Free); err != nil {
			t.Fatal(err)
		}
		if err := c.RemovePlan(ctx, "team"); err != nil {
			t.Fatal(err)
		}
		// Removing the override brings the default back, customers or not.
		if err := c.RemovePlan(ctx, tier.Free); err != nil {
			t.Fatal(err)
		}
		want, _ := tier.Default(tier.Free)
		if got, err := c.ForCustomer(ctx, cust.ID); err != nil || got != want {
			t.Fatalf("after removing the override %+v, %v", got, err)
		}
	})
}

// TestRemovePlan: a built-in plan itself cannot be removed, only its
// override; a plan nobody defined is unknown.
func TestRemovePlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := tier.NewCatalog(s)
		if err := c.RemovePlan(ctx, tier.Pro); !errors.Is(err, tier.ErrBuiltInPlan) {
			t.Fatalf("removed a built-in plan: %v", err)
		}
		if e, err := c.Entry(ctx, tier.Pro); err != nil || e.Source != tier.SourceDefault {
			t.Fatalf("pro after a refused removal: %+v, %v", e, err)
		}
		if err := c.RemovePlan(ctx, "team"); !errors.Is(err, tier.ErrUnknownPlan) {
			t.Fatalf("removed an unknown plan: %v", err)
		}
		if _, err := c.Entry(ctx, "team"); !errors.Is(err, tier.ErrUnknownPlan) {
			t.Fatalf("entry of an unknown plan: %v", err)
		}
	})
}

// TestBrokenStoredPlan: a row changed by hand to nonsense (here a timeout
// too large for a Duration) is listed for the operator to fix, never applied
// to a customer.
func TestBrokenStoredPlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := tier.NewCatalog(s)
		row := store.Plan{Name: "broken", Rank: 1, ServersPerCustomer: 1, ToolsPerServer: 1, Fuel: 1, MemoryBytes: 1 << 20,
			TimeoutMS: math.MaxInt64, OutputBytes: 1, CallsPerMinute: 1}
		if err := s.PutPlan(ctx, &row); err != nil {
			t.Fatal(err)
		}
		e, err := c.Entry(ctx, "broken")
		if err != nil || e.Timeout != math.MaxInt64 {
			t.Fatalf("entry %+v, %v", e, err)
		}
		if _, err := c.Plan(ctx, "broken"); !errors.Is(err, tier.ErrInvalidPlan) || !strings.Contains(err.Error(), "timeout_ms must be at most") {
			t.Fatalf("a broken plan resolved: %v", err)
		}
	})
}

// TestLibraryByTier: a free customer cannot add a pro-only library module; a
// pro customer can.
func TestLibraryByTier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := tier.NewCatalog(s)
		m := store.Module{Manifest: store.JSON(`{"tools":[{"name":"fetch"}]}`)}
		if err := s.PutModule(ctx, &m, []byte("library module")); err != nil {
			t.Fatal(err)
		}
		lib := store.LibraryModule{Name: "http-fetch", Version: "1.0.0", ModuleHash: m.Hash, Signature: []byte{1},
			Signer: "ops", MinTier: tier.Pro, UploadedBy: "operator"}
		if err := s.CreateLibraryModule(ctx, &lib); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			tier    string
			allowed bool
		}{{tier.Free, false}, {tier.Pro, true}, {tier.Enterprise, true}} {
			cust := storetest.Customer(t, s, tc.tier)
			plan, err := c.ForCustomer(ctx, cust.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.LibraryModule(ctx, "http-fetch", "1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckLibrary(ctx, plan, got.MinTier)
			var le *tier.LimitError
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("%s customer refused: %v", tc.tier, err)
			case !tc.allowed && (!errors.As(err, &le) || le.Limit != tier.LimitLibrary):
				t.Fatalf("%s customer: got %v, want a library limit error", tc.tier, err)
			}
		}
		free, _ := tier.Default(tier.Free)
		if err := c.CheckLibrary(ctx, free, "gold"); !errors.Is(err, tier.ErrUnknownPlan) {
			t.Fatalf("module with an unknown minimum tier: %v", err)
		}
	})
}

// TestServerAndToolLimitsInTheStore: the plan's counts stop creations in the
// store, where the count and the insert are atomic.
func TestServerAndToolLimitsInTheStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := tier.NewCatalog(s)
		cust := storetest.Customer(t, s, tier.Free)
		plan, err := c.ForCustomer(ctx, cust.ID)
		if err != nil {
			t.Fatal(err)
		}
		servers := func(n int) error { return tier.CheckServers(plan, n) }
		var first store.Server
		for i := range plan.ServersPerCustomer {
			srv := store.Server{CustomerID: cust.ID, Name: fmt.Sprintf("s%d", i)}
			if err := s.CreateServer(ctx, &srv, servers); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = srv
			}
		}
		var le *tier.LimitError
		err = s.CreateServer(ctx, &store.Server{CustomerID: cust.ID, Name: "one too many"}, servers)
		if !errors.As(err, &le) || le.Limit != tier.LimitServers || le.Max != int64(plan.ServersPerCustomer) {
			t.Fatalf("server over the limit: %v", err)
		}

		m := store.Module{Manifest: store.JSON(`{}`)}
		if err := s.PutModule(ctx, &m, []byte("module")); err != nil {
			t.Fatal(err)
		}
		tools := func(n int) error { return tier.CheckTools(plan, n) }
		code := "package main"
		for i := range plan.ToolsPerServer + 1 {
			tool := store.Tool{ServerID: first.ID, Name: fmt.Sprintf("t%d", i)}
			v := store.ToolVersion{ModuleHash: m.Hash, ModuleTool: tool.Name, Source: store.SourceGo, SourceCode: &code, CreatedBy: "u"}
			err := s.CreateTool(ctx, &tool, &v, tools)
			if i < plan.ToolsPerServer {
				if err != nil {
					t.Fatal(err)
				}
				continue
			}
			if !errors.As(err, &le) || le.Limit != tier.LimitTools {
				t.Fatalf("tool over the limit: %v", err)
			}
		}
	})
}
