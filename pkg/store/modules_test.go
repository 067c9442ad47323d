package store_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestModules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		data := []byte("\x00asm\x01\x00\x00\x00 a module")
		m := store.Module{Manifest: store.JSON(`{"tools":[{"name":"echo"}]}`), InstrumenterVersion: "fuel/1"}
		if err := s.PutModule(ctx, &m, data); err != nil {
			t.Fatal(err)
		}
		if m.Hash != store.ModuleHash(data) || m.Size != int64(len(data)) || m.CreatedAt.IsZero() {
			t.Fatalf("stored %+v", m)
		}
		// Storing the same bytes again is not an error and keeps the first row.
		again := store.Module{Manifest: m.Manifest, InstrumenterVersion: "fuel/1"}
		if err := s.PutModule(ctx, &again, data); err != nil {
			t.Fatal(err)
		}
		if !again.CreatedAt.Equal(m.CreatedAt) {
			t.Fatal("storing a module twice replaced it")
		}
		got, err := s.ModuleData(ctx, m.Hash)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("data %q, %v", got, err)
		}
		meta, err := s.Module(ctx, m.Hash)
		if err != nil {
			t.Fatal(err)
		}
		var manifest map[string]any
		if err := json.Unmarshal(meta.Manifest, &manifest); err != nil || manifest["tools"] == nil {
			t.Fatalf("manifest %s: %v", meta.Manifest, err)
		}

		// Hash and size must match the bytes.
		lie := store.Module{Hash: store.ModuleHash([]byte("other")), Manifest: m.Manifest, InstrumenterVersion: "fuel/1"}
		if err := s.PutModule(ctx, &lie, data); err == nil {
			t.Fatal("a wrong hash was stored")
		}
		short := store.Module{Size: 3, Manifest: m.Manifest, InstrumenterVersion: "fuel/1"}
		if err := s.PutModule(ctx, &short, data); err == nil {
			t.Fatal("a wrong size was stored")
		}
		badManifest := store.Module{Manifest: store.JSON(`{not json`), InstrumenterVersion: "fuel/1"}
		if err := s.PutModule(ctx, &badManifest, []byte("x")); err == nil {
			t.Fatal("an invalid manifest was stored")
		}
		if err := s.PutModule(ctx, &store.Module{Manifest: m.Manifest, InstrumenterVersion: "fuel/1"}, nil); err == nil {
			t.Fatal("a module with neither data nor path was stored")
		}

		// A module kept in a file.
		fileData := []byte("module in a file")
		onDisk := store.Module{Hash: store.ModuleHash(fileData), Size: int64(len(fileData)), Manifest: m.Manifest,
			InstrumenterVersion: "fuel/1", Path: ptr("modules/ab/abcdef.wasm")}
		if err := s.PutModule(ctx, &onDisk, nil); err != nil {
			t.Fatal(err)
		}
		if onDisk.Path == nil || *onDisk.Path != "modules/ab/abcdef.wasm" {
			t.Fatalf("stored %+v", onDisk)
		}
		_, err = s.ModuleData(ctx, onDisk.Hash)
		wantErr(t, err, store.ErrNotFound)

		// Builds: the same inputs map to the module built first.
		if err := s.RecordBuild(ctx, "build-key-1", m.Hash); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordBuild(ctx, "build-key-1", onDisk.Hash); err != nil {
			t.Fatal(err)
		}
		built, err := s.ModuleForBuild(ctx, "build-key-1")
		if err != nil || built.Hash != m.Hash {
			t.Fatalf("module for build %+v, %v", built, err)
		}
		_, err = s.ModuleForBuild(ctx, "build-key-2")
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.RecordBuild(ctx, "build-key-3", store.ModuleHash([]byte("missing"))), store.ErrNotFound)

		_, err = s.Module(ctx, store.ModuleHash([]byte("missing")))
		wantErr(t, err, store.ErrNotFound)
	})
}
