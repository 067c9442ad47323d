// Package schema embeds Kiln's SQL migrations, one directory per dialect, so
// the one binary can create and upgrade its own database (`kiln migrate`,
// and at `kiln serve` start, through pkg/store). The directory also holds the
// JSON Schemas of Kiln's documents (manifest.v1.schema.json and
// manifest.v2.schema.json, one per module ABI version), which are not
// embedded.
//
// A migration is a file NNNN_name.sql. Versions start at 1 and have no gaps,
// and every version exists in both dialects under the same name: one change to
// the data model is one pair of files, so PostgreSQL and SQLite never drift.
// A migration that has been released is never edited; the store records a
// checksum of each applied file and refuses to run against one that changed.
package schema

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
)

// Dialect names a SQL dialect with its own migrations directory.
type Dialect string

// The dialects Kiln supports.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Dialects lists every supported dialect.
func Dialects() []Dialect { return []Dialect{Postgres, SQLite} }

//go:embed postgres/*.sql sqlite/*.sql
var migrationFiles embed.FS

// Migration is one versioned change to the data model.
type Migration struct {
	Version int    // 1, 2, ... in the order they apply
	Name    string // the part of the file name after the version
	SQL     string // the statements, run in one transaction
}

// Checksum is the hex SHA-256 of the migration's SQL, recorded when it is
// applied so a later edit of an applied file is detected.
func (m Migration) Checksum() string {
	sum := sha256.Sum256([]byte(m.SQL))
	return hex.EncodeToString(sum[:])
}

var fileName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns the dialect's migrations in version order. It fails on a
// file whose name does not follow NNNN_name.sql, on a duplicate version and on
// a gap, so a misnamed file cannot be skipped silently.
func Migrations(d Dialect) ([]Migration, error) {
	if !slices.Contains(Dialects(), d) {
		return nil, fmt.Errorf("schema: unknown dialect %q", d)
	}
	entries, err := fs.ReadDir(migrationFiles, string(d))
	if err != nil {
		return nil, fmt.Errorf("schema: read %s migrations: %w", d, err)
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("schema: %s/%s: name must look like 0001_name.sql", d, e.Name())
		}
		version, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("schema: %s/%s: %w", d, e.Name(), err)
		}
		text, err := fs.ReadFile(migrationFiles, path.Join(string(d), e.Name()))
		if err != nil {
			return nil, fmt.Errorf("schema: read %s/%s: %w", d, e.Name(), err)
		}
		out = append(out, Migration{Version: version, Name: m[2], SQL: string(text)})
	}
	// fs.ReadDir sorts by name and the version is fixed-width, so the slice
	// is in version order; check it has no duplicates or gaps.
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("schema: %s migrations: expected version %04d, found %04d_%s", d, i+1, m.Version, m.Name)
		}
	}
	return out, nil
}

// Files is the embedded migrations tree (postgres/ and sqlite/), for tools
// that print or export the SQL.
func Files() fs.FS { return migrationFiles }
