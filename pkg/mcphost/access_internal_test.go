package mcphost

import (
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
)

// TestPlanCacheBound: the plan cache holds at most its size in customers,
// does not keep failed lookups, and forgets a changed plan's customers.
func TestPlanCacheBound(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := t.Context()
	c, err := newPlanCache(tier.NewCatalog(s), 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 5 {
		cust := storetest.Customer(t, s, "free")
		ids = append(ids, cust.ID)
		if p, err := c.forCustomer(ctx, cust.ID); err != nil || p.Name != "free" {
			t.Fatalf("plan: %+v %v", p, err)
		}
	}
	if n := c.plans.Len(); n != 2 {
		t.Fatalf("the cache holds %d customers, want its bound 2", n)
	}
	c.purge()
	for range 5 {
		if _, err := c.forCustomer(ctx, "cus_unknown"); err == nil {
			t.Fatal("an unknown customer has a plan")
		}
	}
	if n := c.plans.Len(); n != 0 {
		t.Fatalf("failed lookups left %d entries", n)
	}
	for _, id := range ids[3:] {
		if _, err := c.forCustomer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	c.forget(store.AccessChange{Kind: store.AccessPlan, ID: "pro"})
	if n := c.plans.Len(); n != 2 {
		t.Fatalf("forgetting another plan dropped customers: %d left", n)
	}
	c.forget(store.AccessChange{Kind: store.AccessPlan, ID: "free"})
	if n := c.plans.Len(); n != 0 {
		t.Fatalf("forgetting their plan left %d customers", n)
	}
}
