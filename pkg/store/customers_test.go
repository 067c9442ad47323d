package store_test

import (
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := store.Customer{Name: "Acme", Tier: "pro"}
		if err := s.CreateCustomer(ctx, &c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Customer(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Acme" || got.Tier != "pro" || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("got %+v, want %+v", got, c)
		}
		if err := s.SetCustomerTier(ctx, c.ID, "enterprise"); err != nil {
			t.Fatal(err)
		}
		if tier, err := s.CustomerTier(ctx, c.ID); err != nil || tier != "enterprise" {
			t.Fatalf("tier %q, %v", tier, err)
		}
		if n, err := s.CountCustomersOnTier(ctx, "enterprise"); err != nil || n != 1 {
			t.Fatalf("%d on enterprise, %v", n, err)
		}
		if err := s.RenameCustomer(ctx, c.ID, "Acme Inc"); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListCustomers(ctx)
		if err != nil || len(list) != 1 || list[0].Name != "Acme Inc" {
			t.Fatalf("list %+v, %v", list, err)
		}

		wantErr(t, s.SetCustomerTier(ctx, "cus_missing", "pro"), store.ErrNotFound)
		_, err = s.Customer(ctx, "cus_missing")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.CustomerTier(ctx, "cus_missing")
		wantErr(t, err, store.ErrNotFound)

		// Deleting a customer takes its servers with it.
		srv := newServer(t, s, c.ID, "weather")
		if err := s.DeleteCustomer(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.ServerByID(ctx, srv.ID)
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.DeleteCustomer(ctx, c.ID), store.ErrNotFound)
	})
}

func TestPlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		_, err := s.Plan(ctx, "pro")
		wantErr(t, err, store.ErrNotFound)
		p := store.Plan{Name: "pro", Rank: 1, ServersPerCustomer: 10, ToolsPerServer: 20, Fuel: 1e9,
			MemoryBytes: 128 << 20, TimeoutMS: 10000, OutputBytes: 1 << 20, HTTPRequestsPerCall: 20,
			CallsPerMinute: 300, LLMGenerationsPerDay: 200}
		if err := s.PutPlan(ctx, &p); err != nil {
			t.Fatal(err)
		}
		p.ServersPerCustomer = 11
		if err := s.PutPlan(ctx, &p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Plan(ctx, "pro")
		if err != nil {
			t.Fatal(err)
		}
		got.UpdatedAt = p.UpdatedAt // compared separately
		if got != p {
			t.Fatalf("got %+v, want %+v", got, p)
		}
		list, err := s.ListPlans(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("list %+v, %v", list, err)
		}
		// The table refuses nonsense even if pkg/tier were bypassed.
		bad := p
		bad.Name, bad.Fuel = "broken", 0
		if err := s.PutPlan(ctx, &bad); err == nil {
			t.Fatal("a plan with no fuel was stored")
		}
		if err := s.DeletePlan(ctx, "pro"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.DeletePlan(ctx, "pro"), store.ErrNotFound)
	})
}
