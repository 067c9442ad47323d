// Package storetest opens real, isolated, migrated databases for tests: an
// SQLite file in a temporary directory always, and PostgreSQL when
// KILN_TEST_DATABASE_URL is set. A test that asked for PostgreSQL fails (it
// does not skip) when the variable is set and the server cannot be reached,
// so a CI misconfiguration cannot pass as green.
//
// Each PostgreSQL store lives in a schema of its own, named kiln_test_ and a
// random suffix, which every pooled connection puts first on its
// search_path; the schema is dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/schema"
)

// EnvURL names the variable holding the PostgreSQL URL for tests, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "KILN_TEST_DATABASE_URL"

// Each runs fn as a subtest per configured database ("sqlite", and
// "postgres" when EnvURL is set), each with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run(string(schema.SQLite), func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv(EnvURL) != "" {
		t.Run(string(schema.Postgres), func(t *testing.T) {
			s, _ := Postgres(t)
			fn(t, s)
		})
	}
}

// SQLite returns a migrated store on a new SQLite file, closed at the end
// of the test.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, "", t.TempDir())
}

// Postgres returns a migrated store in a new schema, or false when EnvURL is
// not set. It fails the test if the server cannot be reached.
func Postgres(t testing.TB) (*store.Store, bool) {
	t.Helper()
	u, ok := PostgresURL(t)
	if !ok {
		return nil, false
	}
	return Open(t, u, ""), true
}

// PostgresNodes returns n stores on one new schema, each with its own
// connections, as n nodes of one cluster have; the schema is migrated. It
// returns false when EnvURL is not set.
func PostgresNodes(t testing.TB, n int) ([]*store.Store, bool) {
	t.Helper()
	u, ok := PostgresURL(t)
	if !ok {
		return nil, false
	}
	nodes := make([]*store.Store, n)
	for i := range nodes {
		nodes[i] = Open(t, u, "")
	}
	return nodes, true
}

// PostgresURL creates an empty schema and returns a database URL whose
// connections use it, or false when EnvURL is not set; for tests of
// migrations themselves. The schema is dropped at the end of the test.
func PostgresURL(t testing.TB) (string, bool) {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		return "", false
	}
	u, err := url.Parse(base)
	if err != nil {
		// Do not print the URL: it may hold a password.
		t.Fatalf("storetest: %s is not a URL", EnvURL)
	}
	name := "kiln_test_" + strings.ToLower(rand.Text()[:16])
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", EnvURL, err)
	}
	t.Cleanup(func() {
		if err := admin.Close(); err != nil {
			t.Errorf("storetest: close admin connection: %v", err)
		}
	})
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("storetest: %s is set but PostgreSQL is unusable: create schema: %v", EnvURL, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("storetest: drop schema %s: %v", name, err)
		}
	})
	// lib/pq sends parameters it does not know, such as search_path, to
	// the server as settings of each new session.
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), true
}

// Open opens the store at databaseURL (one of PostgresURL's, say) or, with
// none, in dataDir, and migrates it; it is closed at the end of the test.
func Open(t testing.TB, databaseURL, dataDir string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, databaseURL, dataDir)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return s
}

// Customer creates a customer on the given tier, for tests that need one.
func Customer(t testing.TB, s *store.Store, tier string) store.Customer {
	t.Helper()
	c := store.Customer{Name: fmt.Sprintf("customer on %s", tier), Tier: tier}
	if err := s.CreateCustomer(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}
