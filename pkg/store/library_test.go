package store_test

import (
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestLibraryModules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		m := newModule(t, s, "library module")
		l := store.LibraryModule{Name: "http-fetch", Version: "1.0.0", ModuleHash: m.Hash, Signature: []byte{1, 2, 3},
			Signer: "ops-2026", MinTier: "pro", UploadedBy: "operator"}
		if err := s.CreateLibraryModule(ctx, &l); err != nil {
			t.Fatal(err)
		}
		dup := l
		wantErr(t, s.CreateLibraryModule(ctx, &dup), store.ErrConflict)
		missing := l
		missing.Version, missing.ModuleHash = "1.0.1", store.ModuleHash([]byte("nope"))
		wantErr(t, s.CreateLibraryModule(ctx, &missing), store.ErrNotFound)
		unsigned := l
		unsigned.Version, unsigned.Signature = "1.0.2", nil
		if err := s.CreateLibraryModule(ctx, &unsigned); err == nil {
			t.Fatal("an unsigned library module was stored")
		}

		v2 := l
		v2.Version = "2.0.0"
		if err := s.CreateLibraryModule(ctx, &v2); err != nil {
			t.Fatal(err)
		}
		if err := s.SetLibraryDeprecated(ctx, "http-fetch", "1.0.0", true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetLibraryMinTier(ctx, "http-fetch", "2.0.0", "free"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.SetLibraryDeprecated(ctx, "http-fetch", "9.9.9", true), store.ErrNotFound)

		current, err := s.ListLibraryModules(ctx, false)
		if err != nil || len(current) != 1 || current[0].Version != "2.0.0" || current[0].MinTier != "free" {
			t.Fatalf("current %+v, %v", current, err)
		}
		all, err := s.ListLibraryModules(ctx, true)
		if err != nil || len(all) != 2 {
			t.Fatalf("all %+v, %v", all, err)
		}
		versions, err := s.ListLibraryVersions(ctx, "http-fetch")
		if err != nil || len(versions) != 2 {
			t.Fatalf("versions %+v, %v", versions, err)
		}
		got, err := s.LibraryModule(ctx, "http-fetch", "1.0.0")
		if err != nil || !got.Deprecated || string(got.Signature) != "\x01\x02\x03" {
			t.Fatalf("got %+v, %v", got, err)
		}

		// A tool built from a library module refers to it.
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")
		tool := store.Tool{ServerID: srv.ID, Name: "fetch"}
		v := store.ToolVersion{ModuleHash: m.Hash, ModuleTool: "fetch", Source: store.SourceLibrary,
			LibraryName: ptr("http-fetch"), LibraryVersion: ptr("2.0.0"), CreatedBy: "user:test"}
		if err := s.CreateTool(ctx, &tool, &v, unlimited); err != nil {
			t.Fatal(err)
		}
		bad := store.Tool{ServerID: srv.ID, Name: "fetch2"}
		badV := v
		badV.LibraryVersion = ptr("7.0.0")
		wantErr(t, s.CreateTool(ctx, &bad, &badV, unlimited), store.ErrNotFound)
		wantErr(t, s.DeleteModule(ctx, m.Hash), store.ErrConflict)
	})
}
