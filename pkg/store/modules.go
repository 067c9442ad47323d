package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Module is a stored tool module, addressed by the SHA-256 of its bytes: the
// module as built or uploaded, which the sandbox instruments when it loads
// it. The bytes are kept in the database or, with Path set, in a file the
// service manages; ModuleData reads the former.
type Module struct {
	Hash      string    `db:"hash"`
	Size      int64     `db:"size"`
	Manifest  JSON      `db:"manifest"`
	Path      *string   `db:"path"`
	CreatedAt time.Time `db:"created_at"`
}

var moduleHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ModuleHash is the content address of a module's bytes.
func ModuleHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

const moduleColumns = `hash, size, manifest, path, created_at`

// PutModule stores a module unless one with the same hash exists, and fills
// m from the stored row either way: storing the same bytes twice is not an
// error, which is what makes identical builds free. With data, m.Hash and
// m.Size are checked against it (an empty m.Hash is filled in); without
// data, m.Path must say where the bytes are.
func (s *Store) PutModule(ctx context.Context, m *Module, data []byte) error {
	switch {
	case data != nil:
		hash := ModuleHash(data)
		if m.Hash == "" {
			m.Hash = hash
		}
		if m.Hash != hash {
			return fmt.Errorf("store: put module: hash %s does not match the data (%s)", m.Hash, hash)
		}
		if m.Size == 0 {
			m.Size = int64(len(data))
		}
		if m.Size != int64(len(data)) {
			return fmt.Errorf("store: put module %s: size %d does not match the data (%d bytes)", m.Hash, m.Size, len(data))
		}
	case m.Path == nil || *m.Path == "":
		return errors.New("store: put module: neither data nor a path")
	case !moduleHash.MatchString(m.Hash):
		return fmt.Errorf("store: put module: hash %q is not a lowercase hex SHA-256", m.Hash)
	}
	_, err := exec(ctx, s.db, `
		INSERT INTO modules (hash, size, manifest, data, path, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO NOTHING`,
		m.Hash, m.Size, m.Manifest, data, m.Path, s.now())
	if err != nil {
		return wrap(err, "put module %s", m.Hash)
	}
	stored, err := s.Module(ctx, m.Hash)
	if err != nil {
		return err
	}
	*m = stored
	return nil
}

// Module returns a module's metadata, without its bytes.
func (s *Store) Module(ctx context.Context, hash string) (Module, error) {
	var m Module
	err := get(ctx, s.db, &m, `SELECT `+moduleColumns+` FROM modules WHERE hash = ?`, hash)
	return m, wrap(err, "get module %s", hash)
}

// ModuleData returns a module's bytes kept in the database. ErrNotFound if
// the module is unknown or its bytes live in a file (see Module.Path).
func (s *Store) ModuleData(ctx context.Context, hash string) ([]byte, error) {
	var data []byte
	err := get(ctx, s.db, &data, `SELECT data FROM modules WHERE hash = ? AND data IS NOT NULL`, hash)
	return data, wrap(err, "get data of module %s", hash)
}

// DeleteModule deletes a module no tool version or library module uses;
// ErrConflict while one does.
func (s *Store) DeleteModule(ctx context.Context, hash string) error {
	err := execOne(ctx, s.db, `DELETE FROM modules WHERE hash = ?`, hash)
	if isForeignKey(err) {
		return fmt.Errorf("store: delete module %s: %w: it is still in use: %w", hash, ErrConflict, err)
	}
	return wrap(err, "delete module %s", hash)
}
