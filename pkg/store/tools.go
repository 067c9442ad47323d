package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

// Where a tool version's code came from.
const (
	SourceGo      = "go"      // Go source built by pkg/build; SourceCode holds it
	SourceLibrary = "library" // a curated library module; LibraryName/Version name it
)

// Tool is one MCP tool of a server. Its code lives in versions; the server
// serves CurrentVersion.
type Tool struct {
	ID             string    `db:"id"`
	ServerID       string    `db:"server_id"`
	Name           string    `db:"name"`
	CurrentVersion int       `db:"current_version"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

// ToolVersion is one revision of a tool: a module, the name of the tool
// inside the module's manifest, and where the module came from.
type ToolVersion struct {
	ToolID         string    `db:"tool_id"`
	Version        int       `db:"version"`
	ModuleHash     string    `db:"module_hash"`
	ModuleTool     string    `db:"module_tool"`
	Source         string    `db:"source"`
	SourceCode     *string   `db:"source_code"`
	LibraryName    *string   `db:"library_name"`
	LibraryVersion *string   `db:"library_version"`
	CreatedBy      string    `db:"created_by"`
	CreatedAt      time.Time `db:"created_at"`
}

// DeployedTool is what serving a tool takes: its current version's module.
type DeployedTool struct {
	ToolID     string `db:"tool_id"`
	Name       string `db:"name"`
	Version    int    `db:"version"`
	ModuleHash string `db:"module_hash"`
	ModuleTool string `db:"module_tool"`
}

const (
	toolColumns        = `id, server_id, name, current_version, created_at, updated_at`
	toolVersionColumns = `tool_id, version, module_hash, module_tool, source, source_code, library_name, library_version, created_by, created_at`
)

// CreateTool adds tool t to server t.ServerID with first as its version 1,
// if check allows one more tool on the server. The count and the inserts
// happen under a lock on the server's row. It sets the IDs, versions and
// times of t and first. ErrConflict if the server has a tool of that name;
// ErrNotFound if the server, the module or the library module does not exist.
func (s *Store) CreateTool(ctx context.Context, t *Tool, first *ToolVersion, check LimitCheck) error {
	if check == nil {
		return errors.New("store: create tool: no limit check")
	}
	tool, version := *t, *first
	tool.ID = newID("tool")
	tool.CurrentVersion = 1
	tool.CreatedAt = s.now()
	tool.UpdatedAt = tool.CreatedAt
	version.ToolID, version.Version, version.CreatedAt = tool.ID, 1, tool.CreatedAt
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id string
		if err := get(ctx, tx, &id, `SELECT id FROM servers WHERE id = ?`+s.forUpdate(), tool.ServerID); err != nil {
			return wrap(err, "lock server %s", tool.ServerID)
		}
		var n int
		if err := get(ctx, tx, &n, `SELECT COUNT(*) FROM tools WHERE server_id = ?`, tool.ServerID); err != nil {
			return wrap(err, "count tools of server %s", tool.ServerID)
		}
		if err := check(n); err != nil {
			return err
		}
		if _, err := exec(ctx, tx, `INSERT INTO tools (`+toolColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			tool.ID, tool.ServerID, tool.Name, tool.CurrentVersion, tool.CreatedAt, tool.UpdatedAt); err != nil {
			return wrap(err, "create tool %q", tool.Name)
		}
		return insertToolVersion(ctx, tx, &version)
	})
	if err != nil {
		return err
	}
	*t, *first = tool, version
	return nil
}

func insertToolVersion(ctx context.Context, tx *sqlx.Tx, v *ToolVersion) error {
	_, err := exec(ctx, tx, `INSERT INTO tool_versions (`+toolVersionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ToolID, v.Version, v.ModuleHash, v.ModuleTool, v.Source, v.SourceCode, v.LibraryName, v.LibraryVersion, v.CreatedBy, v.CreatedAt)
	return wrap(err, "create version %d of tool %s", v.Version, v.ToolID)
}

// AddToolVersion appends v to tool v.ToolID as its next version and makes it
// the current one, setting v.Version and v.CreatedAt.
func (s *Store) AddToolVersion(ctx context.Context, v *ToolVersion) error {
	row := *v
	row.CreatedAt = s.now()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id string
		if err := get(ctx, tx, &id, `SELECT id FROM tools WHERE id = ?`+s.forUpdate(), row.ToolID); err != nil {
			return wrap(err, "lock tool %s", row.ToolID)
		}
		if err := get(ctx, tx, &row.Version, `SELECT COALESCE(MAX(version), 0) + 1 FROM tool_versions WHERE tool_id = ?`, row.ToolID); err != nil {
			return wrap(err, "next version of tool %s", row.ToolID)
		}
		if err := insertToolVersion(ctx, tx, &row); err != nil {
			return err
		}
		err := execOne(ctx, tx, `UPDATE tools SET current_version = ?, updated_at = ? WHERE id = ?`, row.Version, row.CreatedAt, row.ToolID)
		return wrap(err, "set current version of tool %s", row.ToolID)
	})
	if err != nil {
		return err
	}
	*v = row
	return nil
}

// SetCurrentToolVersion serves an existing version of a tool again, to roll
// back. ErrNotFound if the tool has no such version.
func (s *Store) SetCurrentToolVersion(ctx context.Context, toolID string, version int) error {
	err := execOne(ctx, s.db, `
		UPDATE tools SET current_version = ?, updated_at = ?
		WHERE id = ? AND EXISTS (SELECT 1 FROM tool_versions WHERE tool_id = ? AND version = ?)`,
		version, s.now(), toolID, toolID, version)
	return wrap(err, "set tool %s to version %d", toolID, version)
}

// Tool returns one of a server's tools.
func (s *Store) Tool(ctx context.Context, serverID, id string) (Tool, error) {
	var t Tool
	err := get(ctx, s.db, &t, `SELECT `+toolColumns+` FROM tools WHERE id = ? AND server_id = ?`, id, serverID)
	return t, wrap(err, "get tool %s", id)
}

// ToolByName returns a server's tool by its MCP name.
func (s *Store) ToolByName(ctx context.Context, serverID, name string) (Tool, error) {
	var t Tool
	err := get(ctx, s.db, &t, `SELECT `+toolColumns+` FROM tools WHERE server_id = ? AND name = ?`, serverID, name)
	return t, wrap(err, "get tool %q of server %s", name, serverID)
}

// ListTools returns a server's tools by name.
func (s *Store) ListTools(ctx context.Context, serverID string) ([]Tool, error) {
	out := []Tool{}
	err := selectAll(ctx, s.db, &out, `SELECT `+toolColumns+` FROM tools WHERE server_id = ? ORDER BY name`, serverID)
	return out, wrap(err, "list tools of server %s", serverID)
}

// CountTools counts a server's tools.
func (s *Store) CountTools(ctx context.Context, serverID string) (int, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT COUNT(*) FROM tools WHERE server_id = ?`, serverID)
	return n, wrap(err, "count tools of server %s", serverID)
}

// ToolVersion returns one version of a tool.
func (s *Store) ToolVersion(ctx context.Context, toolID string, version int) (ToolVersion, error) {
	var v ToolVersion
	err := get(ctx, s.db, &v, `SELECT `+toolVersionColumns+` FROM tool_versions WHERE tool_id = ? AND version = ?`, toolID, version)
	return v, wrap(err, "get version %d of tool %s", version, toolID)
}

// ListToolVersions returns a tool's versions, oldest first.
func (s *Store) ListToolVersions(ctx context.Context, toolID string) ([]ToolVersion, error) {
	out := []ToolVersion{}
	err := selectAll(ctx, s.db, &out, `SELECT `+toolVersionColumns+` FROM tool_versions WHERE tool_id = ? ORDER BY version`, toolID)
	return out, wrap(err, "list versions of tool %s", toolID)
}

// ServerTools returns the current version of each of a server's tools, by
// name: what the MCP host loads to serve the server.
func (s *Store) ServerTools(ctx context.Context, serverID string) ([]DeployedTool, error) {
	out := []DeployedTool{}
	err := selectAll(ctx, s.db, &out, `
		SELECT t.id AS tool_id, t.name, v.version, v.module_hash, v.module_tool
		FROM tools t JOIN tool_versions v ON v.tool_id = t.id AND v.version = t.current_version
		WHERE t.server_id = ?
		ORDER BY t.name`, serverID)
	return out, wrap(err, "list deployed tools of server %s", serverID)
}

// DeleteTool deletes one of a server's tools and its versions.
func (s *Store) DeleteTool(ctx context.Context, serverID, id string) error {
	err := execOne(ctx, s.db, `DELETE FROM tools WHERE id = ? AND server_id = ?`, id, serverID)
	return wrap(err, "delete tool %s", id)
}

// CheckCatalog refuses a server whose modules declare the same prompt
// name, resource URI or resource template (a *manifest.ClashError): a
// server's prompts and resources are the union of its modules'. It is the
// name check of a deploy beside the unique tool names: the API and the
// wizard run it in the deploy's transaction, after the tool change, so a
// clash rolls the change back.
//
// It locks the server's row first (PostgreSQL; SQLite's write lock already
// serialises writers): two deploys that change different tools of one
// server (the wizard's AddToolVersion locks only the tool) would otherwise
// each check without the other's module and both commit a clash.
func (s *Store) CheckCatalog(ctx context.Context, serverID string) error {
	var id string
	if err := get(ctx, s.db, &id, `SELECT id FROM servers WHERE id = ?`+s.forUpdate(), serverID); err != nil {
		return wrap(err, "lock server %s", serverID)
	}
	mods, err := s.serverModules(ctx, serverID)
	if err != nil {
		return err
	}
	owned := make([]manifest.Owned, len(mods))
	for i, m := range mods {
		owned[i] = manifest.Owned{Owner: fmt.Sprintf("the module of tool %q", m.Tool), Doc: m.Manifest}
	}
	return manifest.CheckUnion(owned)
}

// serverModule is one module a server serves tools from, with its
// manifest and the first of its tools by name.
type serverModule struct {
	Tool       string `db:"name"`
	ModuleHash string `db:"module_hash"`
	Manifest   JSON   `db:"manifest"`
}

// serverModules returns the modules of a server's current tool versions,
// each once. In a transaction after a tool change, it sees that change.
func (s *Store) serverModules(ctx context.Context, serverID string) ([]serverModule, error) {
	out := []serverModule{}
	err := selectAll(ctx, s.db, &out, `
		SELECT x.name, x.module_hash, m.manifest
		FROM (SELECT MIN(t.name) AS name, v.module_hash
			FROM tools t JOIN tool_versions v ON v.tool_id = t.id AND v.version = t.current_version
			WHERE t.server_id = ?
			GROUP BY v.module_hash) x
		JOIN modules m ON m.hash = x.module_hash
		ORDER BY x.name`, serverID)
	return out, wrap(err, "list modules of server %s", serverID)
}
