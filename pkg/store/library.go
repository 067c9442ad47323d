package store

import (
	"context"
	"time"
)

// LibraryModule is a curated module an operator uploaded: a named, versioned
// module with the operator's signature over it, usable by customers whose
// plan ranks at least MinTier. Deprecated versions stay usable by the tools
// that have them but are not offered for new tools.
type LibraryModule struct {
	Name        string    `db:"name"`
	Version     string    `db:"version"`
	ModuleHash  string    `db:"module_hash"`
	Description string    `db:"description"`
	Signature   []byte    `db:"signature"`
	Signer      string    `db:"signer"`
	MinTier     string    `db:"min_tier"`
	Deprecated  bool      `db:"deprecated"`
	UploadedBy  string    `db:"uploaded_by"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

const libraryColumns = `name, version, module_hash, description, signature, signer, min_tier, deprecated, uploaded_by, created_at, updated_at`

// CreateLibraryModule inserts l, setting its times. Versions are immutable:
// uploading a (name, version) again is ErrConflict. ErrNotFound if the module
// has not been stored.
func (s *Store) CreateLibraryModule(ctx context.Context, l *LibraryModule) error {
	l.CreatedAt = s.now()
	l.UpdatedAt = l.CreatedAt
	_, err := exec(ctx, s.db, `INSERT INTO library_modules (`+libraryColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.Name, l.Version, l.ModuleHash, l.Description, l.Signature, l.Signer, l.MinTier, l.Deprecated, l.UploadedBy, l.CreatedAt, l.UpdatedAt)
	return wrap(err, "create library module %s@%s", l.Name, l.Version)
}

// LibraryModule returns one version of a library module.
func (s *Store) LibraryModule(ctx context.Context, name, version string) (LibraryModule, error) {
	var l LibraryModule
	err := get(ctx, s.db, &l, `SELECT `+libraryColumns+` FROM library_modules WHERE name = ? AND version = ?`, name, version)
	return l, wrap(err, "get library module %s@%s", name, version)
}

// ListLibraryModules returns every library module version by name, newest
// upload first within a name; deprecated ones only if asked.
func (s *Store) ListLibraryModules(ctx context.Context, includeDeprecated bool) ([]LibraryModule, error) {
	where := `WHERE NOT deprecated`
	if includeDeprecated {
		where = ``
	}
	out := []LibraryModule{}
	err := selectAll(ctx, s.db, &out, `SELECT `+libraryColumns+` FROM library_modules `+where+`
		ORDER BY name, created_at DESC, version`)
	return out, wrap(err, "list library modules")
}

// ListLibraryVersions returns the versions of one library module, newest
// upload first, deprecated ones included.
func (s *Store) ListLibraryVersions(ctx context.Context, name string) ([]LibraryModule, error) {
	out := []LibraryModule{}
	err := selectAll(ctx, s.db, &out, `
		SELECT `+libraryColumns+` FROM library_modules WHERE name = ?
		ORDER BY created_at DESC, version`, name)
	return out, wrap(err, "list versions of library module %s", name)
}

// SetLibraryDeprecated marks a library module version deprecated or not.
func (s *Store) SetLibraryDeprecated(ctx context.Context, name, version string, deprecated bool) error {
	err := execOne(ctx, s.db, `UPDATE library_modules SET deprecated = ?, updated_at = ? WHERE name = ? AND version = ?`,
		deprecated, s.now(), name, version)
	return wrap(err, "deprecate library module %s@%s", name, version)
}

// SetLibraryMinTier changes the plan a library module version requires.
func (s *Store) SetLibraryMinTier(ctx context.Context, name, version, minTier string) error {
	err := execOne(ctx, s.db, `UPDATE library_modules SET min_tier = ?, updated_at = ? WHERE name = ? AND version = ?`,
		minTier, s.now(), name, version)
	return wrap(err, "set minimum tier of library module %s@%s", name, version)
}
