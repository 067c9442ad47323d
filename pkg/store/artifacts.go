package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"
)

// DefaultMaxArtifactBytes bounds the compiled artifacts stored together:
// the least recently stored go first.
const DefaultMaxArtifactBytes = 4 << 30

// ArtifactKey names a compiled module (sandbox.ArtifactKey, without the
// dependency on the sandbox).
type ArtifactKey struct {
	ModuleHash, Instrumenter, WazeroVersion, Platform, CPU string
}

// CompiledArtifact is a stored compiled module. The column sha256 holds
// its MAC: the hex HMAC-SHA256 the sandbox checks (sandbox/artifact.go).
type CompiledArtifact struct {
	Name string `db:"name"`
	MAC  string `db:"sha256"`
	Size int64  `db:"size"`
	Data []byte `db:"data"` // nil when the artifact is past the bound asked for
}

const artifactWhere = `module_hash = ? AND instrumenter = ? AND wazero_version = ? AND platform = ? AND cpu = ?`

func (k ArtifactKey) args() []any {
	return []any{k.ModuleHash, k.Instrumenter, k.WazeroVersion, k.Platform, k.CPU}
}

// CompiledArtifact returns the artifact stored under key, or nil when there
// is none (a claim is not an artifact). An artifact of more than maxBytes
// comes without its data, which is never read into memory then; maxBytes
// <= 0 means no bound.
func (s *Store) CompiledArtifact(ctx context.Context, key ArtifactKey, maxBytes int64) (*CompiledArtifact, error) {
	if maxBytes <= 0 {
		maxBytes = math.MaxInt64
	}
	var a CompiledArtifact
	err := get(ctx, s.db, &a, `SELECT name, sha256, size, CASE WHEN size <= ? THEN data END AS data
		FROM compiled_artifacts WHERE `+artifactWhere+` AND data IS NOT NULL`, append([]any{maxBytes}, key.args()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(err, "get compiled artifact of module %s", key.ModuleHash)
	}
	return &a, nil
}

// ClaimCompiledArtifact records that the caller compiles key's module for
// every node, for lease, and reports whether it may: false when the
// artifact is stored already or another claim has not expired.
func (s *Store) ClaimCompiledArtifact(ctx context.Context, key ArtifactKey, lease time.Duration) (bool, error) {
	now := s.now()
	args := append(key.args(), utc(now.Add(lease)), now, now)
	n, err := exec(ctx, s.db, `
		INSERT INTO compiled_artifacts (module_hash, instrumenter, wazero_version, platform, cpu, claimed_until, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (module_hash, instrumenter, wazero_version, platform, cpu) DO UPDATE
		SET claimed_until = excluded.claimed_until
		WHERE compiled_artifacts.data IS NULL AND compiled_artifacts.claimed_until < ?`, args...)
	if err != nil {
		return false, wrap(err, "claim compiled artifact of module %s", key.ModuleHash)
	}
	return n > 0, nil
}

// ReleaseCompiledArtifact drops a claim on key (not a stored artifact), so
// another node may claim it at once rather than when the lease runs out.
func (s *Store) ReleaseCompiledArtifact(ctx context.Context, key ArtifactKey) error {
	if _, err := exec(ctx, s.db, `DELETE FROM compiled_artifacts WHERE `+artifactWhere+` AND data IS NULL`, key.args()...); err != nil {
		return wrap(err, "release claim on compiled artifact of module %s", key.ModuleHash)
	}
	return nil
}

// PutCompiledArtifact stores an artifact under key, replacing a claim or an
// older artifact, then drops the oldest artifacts until all of them fit in
// maxTotal bytes (DefaultMaxArtifactBytes when zero).
func (s *Store) PutCompiledArtifact(ctx context.Context, key ArtifactKey, a CompiledArtifact, maxTotal int64) error {
	if maxTotal <= 0 {
		maxTotal = DefaultMaxArtifactBytes
	}
	now := s.now()
	args := append(key.args(), a.Name, a.MAC, int64(len(a.Data)), a.Data, now)
	return s.InTx(ctx, func(tx *Store) error {
		_, err := exec(ctx, tx.db, `
			INSERT INTO compiled_artifacts (module_hash, instrumenter, wazero_version, platform, cpu, name, sha256, size, data, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (module_hash, instrumenter, wazero_version, platform, cpu) DO UPDATE
			SET name = excluded.name, sha256 = excluded.sha256, size = excluded.size, data = excluded.data,
			    claimed_until = NULL, created_at = excluded.created_at`, args...)
		if err != nil {
			return wrap(err, "put compiled artifact of module %s", key.ModuleHash)
		}
		return tx.trimArtifacts(ctx, maxTotal)
	})
}

// trimArtifacts deletes the oldest artifacts past maxTotal bytes.
func (s *Store) trimArtifacts(ctx context.Context, maxTotal int64) error {
	var rows []struct {
		ModuleHash    string    `db:"module_hash"`
		Instrumenter  string    `db:"instrumenter"`
		WazeroVersion string    `db:"wazero_version"`
		Platform      string    `db:"platform"`
		CPU           string    `db:"cpu"`
		Size          int64     `db:"size"`
		CreatedAt     time.Time `db:"created_at"`
	}
	if err := selectAll(ctx, s.db, &rows, `
		SELECT module_hash, instrumenter, wazero_version, platform, cpu, size, created_at
		FROM compiled_artifacts WHERE data IS NOT NULL ORDER BY created_at DESC`); err != nil {
		return wrap(err, "list compiled artifacts")
	}
	var total int64
	for _, r := range rows {
		total += r.Size
		if total <= maxTotal {
			continue
		}
		k := ArtifactKey{r.ModuleHash, r.Instrumenter, r.WazeroVersion, r.Platform, r.CPU}
		if _, err := exec(ctx, s.db, `DELETE FROM compiled_artifacts WHERE `+artifactWhere, k.args()...); err != nil {
			return wrap(err, "drop compiled artifact of module %s", r.ModuleHash)
		}
	}
	return nil
}
