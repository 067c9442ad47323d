package store_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// unlimited is the limit check for tests that are not about limits.
func unlimited(int) error { return nil }

func newServer(t *testing.T, s *store.Store, customerID, name string) store.Server {
	t.Helper()
	srv := store.Server{CustomerID: customerID, Name: name, AllowedHosts: store.StringList{"api.example.com"}}
	if err := s.CreateServer(t.Context(), &srv, unlimited); err != nil {
		t.Fatal(err)
	}
	return srv
}

func newModule(t *testing.T, s *store.Store, data string) store.Module {
	t.Helper()
	m := store.Module{Manifest: store.JSON(`{"tools":[{"name":"echo"}]}`)}
	if err := s.PutModule(t.Context(), &m, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return m
}

func newTool(t *testing.T, s *store.Store, serverID, name, moduleHash string) (store.Tool, store.ToolVersion) {
	t.Helper()
	tool := store.Tool{ServerID: serverID, Name: name}
	code := "package main"
	v := store.ToolVersion{ModuleHash: moduleHash, ModuleTool: name, Source: store.SourceGo, SourceCode: &code, CreatedBy: "user:test"}
	if err := s.CreateTool(t.Context(), &tool, &v, unlimited); err != nil {
		t.Fatal(err)
	}
	return tool, v
}

func customer(t *testing.T, s *store.Store) store.Customer {
	t.Helper()
	return storetest.Customer(t, s, "free")
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func ptr[T any](v T) *T { return &v }

// sameJSON compares documents by meaning: PostgreSQL's jsonb does not keep
// the bytes it was given.
func sameJSON(t *testing.T, got store.JSON, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("stored JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(a, b)
}

func closeOrFail(t *testing.T, c interface{ Close() error }) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}
