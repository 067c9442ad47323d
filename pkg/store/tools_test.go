package store_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestToolsAndVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		m1, m2 := newModule(t, s, "module one"), newModule(t, s, "module two")
		tool, v1 := newTool(t, s, srv.ID, "forecast", m1.Hash)
		if tool.CurrentVersion != 1 || v1.Version != 1 || v1.ToolID != tool.ID {
			t.Fatalf("created %+v %+v", tool, v1)
		}

		// The same name twice on one server is a conflict.
		dupTool := store.Tool{ServerID: srv.ID, Name: "forecast"}
		dupVersion := v1
		wantErr(t, s.CreateTool(ctx, &dupTool, &dupVersion, unlimited), store.ErrConflict)
		// A version must name a stored module.
		ghost := store.Tool{ServerID: srv.ID, Name: "ghost"}
		ghostVersion := store.ToolVersion{ModuleHash: store.ModuleHash([]byte("never stored")), ModuleTool: "ghost",
			Source: store.SourceGo, SourceCode: ptr("package main"), CreatedBy: "user:test"}
		wantErr(t, s.CreateTool(ctx, &ghost, &ghostVersion, unlimited), store.ErrNotFound)
		if n, err := s.CountTools(ctx, srv.ID); err != nil || n != 1 {
			t.Fatalf("%d tools, %v: a failed creation left a row", n, err)
		}

		v2 := store.ToolVersion{ToolID: tool.ID, ModuleHash: m2.Hash, ModuleTool: "forecast", Source: store.SourceGo,
			SourceCode: ptr("package main // v2"), CreatedBy: "user:test"}
		if err := s.AddToolVersion(ctx, &v2); err != nil {
			t.Fatal(err)
		}
		if v2.Version != 2 {
			t.Fatalf("second version is %d", v2.Version)
		}
		deployed, err := s.ServerTools(ctx, srv.ID)
		if err != nil || len(deployed) != 1 || deployed[0].ModuleHash != m2.Hash || deployed[0].Version != 2 {
			t.Fatalf("deployed %+v, %v", deployed, err)
		}
		// Roll back.
		if err := s.SetCurrentToolVersion(ctx, tool.ID, 1); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.SetCurrentToolVersion(ctx, tool.ID, 9), store.ErrNotFound)
		got, err := s.ToolByName(ctx, srv.ID, "forecast")
		if err != nil || got.CurrentVersion != 1 {
			t.Fatalf("after rollback %+v, %v", got, err)
		}
		if v, err := s.ToolVersion(ctx, tool.ID, 2); err != nil || *v.SourceCode != "package main // v2" {
			t.Fatalf("version 2: %+v, %v", v, err)
		}
		if vs, err := s.ListToolVersions(ctx, tool.ID); err != nil || len(vs) != 2 {
			t.Fatalf("versions %+v, %v", vs, err)
		}

		// A module in use cannot be deleted.
		wantErr(t, s.DeleteModule(ctx, m1.Hash), store.ErrConflict)

		// Another server does not see the tool.
		other := newServer(t, s, c.ID, "other")
		_, err = s.Tool(ctx, other.ID, tool.ID)
		wantErr(t, err, store.ErrNotFound)
		if list, err := s.ListTools(ctx, srv.ID); err != nil || len(list) != 1 {
			t.Fatalf("tools %+v, %v", list, err)
		}
		wantErr(t, s.DeleteTool(ctx, other.ID, tool.ID), store.ErrNotFound)
		if err := s.DeleteTool(ctx, srv.ID, tool.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteModule(ctx, m1.Hash); err != nil {
			t.Fatalf("delete an unused module: %v", err)
		}
	})
}

// TestConcurrentToolVersions: versions added at once get distinct numbers.
func TestConcurrentToolVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		m := newModule(t, s, "module")
		tool, _ := newTool(t, s, srv.ID, "forecast", m.Hash)
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				v := store.ToolVersion{ToolID: tool.ID, ModuleHash: m.Hash, ModuleTool: "forecast", Source: store.SourceGo,
					SourceCode: ptr("package main"), CreatedBy: "user:test"}
				errs[i] = s.AddToolVersion(t.Context(), &v)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		got, err := s.Tool(t.Context(), srv.ID, tool.ID)
		if err != nil || got.CurrentVersion != n+1 {
			t.Fatalf("current version %d, want %d (%v)", got.CurrentVersion, n+1, err)
		}
	})
}

func TestCreateToolLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		m := newModule(t, s, "module")
		newTool(t, s, srv.ID, "one", m.Hash)
		errFull := errors.New("full")
		var seen int
		check := func(current int) error { seen = current; return errFull }
		tool := store.Tool{ServerID: srv.ID, Name: "two"}
		v := store.ToolVersion{ModuleHash: m.Hash, ModuleTool: "two", Source: store.SourceGo, SourceCode: ptr("package main"), CreatedBy: "u"}
		wantErr(t, s.CreateTool(t.Context(), &tool, &v, check), errFull)
		if seen != 1 || tool.ID != "" {
			t.Fatalf("check saw %d tools; tool after refusal %+v", seen, tool)
		}
		wantErr(t, s.CreateTool(t.Context(), &store.Tool{ServerID: "srv_missing", Name: "x"}, &v, unlimited), store.ErrNotFound)
	})
}
