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
		m := store.Module{Manifest: store.JSON(`{"tools":[{"name":"echo"}]}`)}
		if err := s.PutModule(ctx, &m, data); err != nil {
			t.Fatal(err)
		}
		if m.Hash != store.ModuleHash(data) || m.Size != int64(len(data)) || m.CreatedAt.IsZero() {
			t.Fatalf("stored %+v", m)
		}
		// Storing the same bytes again is not an error and keeps the first row.
		again := store.Module{Manifest: m.Manifest}
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
		lie := store.Module{Hash: store.ModuleHash([]byte("other")), Manifest: m.Manifest}
		if err := s.PutModule(ctx, &lie, data); err == nil {
			t.Fatal("a wrong hash was stored")
		}
		short := store.Module{Size: 3, Manifest: m.Manifest}
		if err := s.PutModule(ctx, &short, data); err == nil {
			t.Fatal("a wrong size was stored")
		}
		badManifest := store.Module{Manifest: store.JSON(`{not json`)}
		if err := s.PutModule(ctx, &badManifest, []byte("x")); err == nil {
			t.Fatal("an invalid manifest was stored")
		}
		if err := s.PutModule(ctx, &store.Module{Manifest: m.Manifest}, nil); err == nil {
			t.Fatal("a module with neither data nor path was stored")
		}

		// A module kept in a file.
		fileData := []byte("module in a file")
		onDisk := store.Module{Hash: store.ModuleHash(fileData), Size: int64(len(fileData)), Manifest: m.Manifest,
			Path: ptr("modules/ab/abcdef.wasm")}
		if err := s.PutModule(ctx, &onDisk, nil); err != nil {
			t.Fatal(err)
		}
		if onDisk.Path == nil || *onDisk.Path != "modules/ab/abcdef.wasm" {
			t.Fatalf("stored %+v", onDisk)
		}
		_, err = s.ModuleData(ctx, onDisk.Hash)
		wantErr(t, err, store.ErrNotFound)

		_, err = s.Module(ctx, store.ModuleHash([]byte("missing")))
		wantErr(t, err, store.ErrNotFound)
	})
}
