package store_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/schema"
)

func TestOpenSQLiteDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data dir?")
	s, err := store.Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if s.Dialect() != schema.SQLite {
		t.Fatalf("dialect %s", s.Dialect())
	}
	if _, err := os.Stat(filepath.Join(dir, store.SQLiteFile)); err != nil {
		t.Fatalf("the database file is not in the data dir: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Every pooled connection must enforce foreign keys: try on several.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			srv := store.Server{CustomerID: "cus_missing", Name: "x"}
			err := s.CreateServer(t.Context(), &srv, unlimited)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("server for a missing customer: %v, want ErrNotFound", err)
			}
			k := store.APIKey{CustomerID: "cus_missing", Prefix: "kiln_x", Hash: store.HashAPIKey(t.Name())}
			if err := s.CreateAPIKey(t.Context(), &k); err == nil {
				t.Error("an API key for a missing customer was accepted: foreign keys are off")
			}
		})
	}
	wg.Wait()

	// WAL mode is a property of the file, visible to any connection.
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(dir, store.SQLiteFile)}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer closeOrFail(t, raw)
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal mode %q, want wal", mode)
	}
}

func TestOpenRejectsOtherSchemes(t *testing.T) {
	_, err := store.Open(t.Context(), "mysql://root:hunter2@localhost/kiln", t.TempDir())
	if err == nil {
		t.Fatal("mysql URL accepted")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
	_, err = store.Open(t.Context(), "postgres://kiln:hunter2@local host:5432/kiln", "")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("a malformed URL: %v", err)
	}
	if _, err := store.Open(t.Context(), "", ""); err == nil {
		t.Fatal("no URL and no data dir accepted")
	}
}

// TestOpenUnreachablePostgres: a PostgreSQL URL nobody answers is an error
// at Open, not at the first query.
func TestOpenUnreachablePostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := store.Open(ctx, "postgres://kiln@127.0.0.1:1/kiln?sslmode=disable&connect_timeout=2", "")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
}

func TestMigrateIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		want, err := schema.Migrations(s.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		// storetest migrated once already; again must be a no-op.
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		applied, err := s.AppliedMigrations(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != len(want) {
			t.Fatalf("%d migrations recorded, want %d", len(applied), len(want))
		}
		for i, a := range applied {
			if a.Version != want[i].Version || a.Name != want[i].Name || a.Checksum != want[i].Checksum() {
				t.Errorf("recorded %+v, want %04d_%s", a, want[i].Version, want[i].Name)
			}
		}
	})
}

// TestConcurrentMigrate starts several stores migrating one empty database at
// once, as several replicas starting together would: all succeed and each
// migration is recorded once.
func TestConcurrentMigrate(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		concurrentMigrate(t, func() (*store.Store, error) { return store.Open(t.Context(), "", dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		u, ok := storetest.PostgresURL(t)
		if !ok {
			t.Skip(storetest.EnvURL + " is not set")
		}
		concurrentMigrate(t, func() (*store.Store, error) { return store.Open(t.Context(), u, "") })
	})
}

func concurrentMigrate(t *testing.T, open func() (*store.Store, error)) {
	const n = 4
	stores := make([]*store.Store, n)
	for i := range stores {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		stores[i] = s
	}
	if applied, err := stores[0].AppliedMigrations(t.Context()); err != nil || len(applied) != 0 {
		t.Fatalf("fresh database has migrations %v (%v)", applied, err)
	}
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, s := range stores {
		wg.Go(func() {
			start.Wait()
			errs[i] = s.Migrate(t.Context())
		})
	}
	start.Done()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	want, err := schema.Migrations(stores[0].Dialect())
	if err != nil {
		t.Fatal(err)
	}
	applied, err := stores[0].AppliedMigrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(want) {
		t.Fatalf("%d migrations recorded, want %d", len(applied), len(want))
	}
	// The schema works from every store.
	for _, s := range stores {
		storetest.Customer(t, s, "free")
	}
}

// TestMigrateRefusesEditedMigration: an applied migration whose file changed
// since stops Migrate with a clear error.
func TestMigrateRefusesEditedMigration(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeOrFail(t, s)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer closeOrFail(t, raw)
	if _, err := raw.Exec(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	err = s.Migrate(t.Context())
	if err == nil || !strings.Contains(err.Error(), "must not be edited") {
		t.Fatalf("Migrate over an edited migration: %v", err)
	}
}
