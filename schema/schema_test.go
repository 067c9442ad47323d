package schema

import (
	"strings"
	"testing"
)

// TestDialectsInStep checks that every dialect has the same migrations under
// the same names, so a change made for one database is made for the other.
func TestDialectsInStep(t *testing.T) {
	pg, err := Migrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 {
		t.Fatal("no migrations")
	}
	if len(pg) != len(lite) {
		t.Fatalf("postgres has %d migrations, sqlite %d", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name {
			t.Errorf("migration %d: postgres %04d_%s, sqlite %04d_%s", i, pg[i].Version, pg[i].Name, lite[i].Version, lite[i].Name)
		}
		if strings.TrimSpace(pg[i].SQL) == "" || strings.TrimSpace(lite[i].SQL) == "" {
			t.Errorf("migration %04d_%s is empty", pg[i].Version, pg[i].Name)
		}
	}
}

// TestTablesInStep checks that each CREATE TABLE exists in both dialects.
func TestTablesInStep(t *testing.T) {
	tables := func(d Dialect) map[string]bool {
		ms, err := Migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, m := range ms {
			for _, line := range strings.Split(m.SQL, "\n") {
				if name, ok := strings.CutPrefix(line, "CREATE TABLE "); ok {
					out[strings.Fields(name)[0]] = true
				}
			}
		}
		return out
	}
	pg, lite := tables(Postgres), tables(SQLite)
	for name := range pg {
		if !lite[name] {
			t.Errorf("table %s is missing from sqlite", name)
		}
	}
	for name := range lite {
		if !pg[name] {
			t.Errorf("table %s is missing from postgres", name)
		}
	}
	for _, want := range []string{"plans", "customers", "users", "user_identities", "api_keys", "servers",
		"tools", "tool_versions", "modules", "library_modules", "server_env_vars", "server_env_values",
		"wizard_sessions", "executions", "audit_log"} {
		if !pg[want] {
			t.Errorf("table %s is missing", want)
		}
	}
}

func TestUnknownDialect(t *testing.T) {
	if _, err := Migrations("mysql"); err == nil {
		t.Fatal("want an error for an unknown dialect")
	}
}

func TestChecksumStable(t *testing.T) {
	m := Migration{SQL: "CREATE TABLE t (x INTEGER);"}
	if m.Checksum() != m.Checksum() || len(m.Checksum()) != 64 {
		t.Fatalf("checksum %q", m.Checksum())
	}
	if (Migration{SQL: m.SQL + " "}).Checksum() == m.Checksum() {
		t.Fatal("checksum ignores an edit")
	}
}
