package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// readSecretFile reads a development secret, refusing a file other users
// can read, as ssh does: a secret anyone on the machine can read protects
// nothing.
func readSecretFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s is accessible to other users (mode %04o); run chmod 600 on it", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// readOrCreateSecretFile returns the secret in path, first creating the
// file (mode 0600, its directory 0700) with generate's value if it does not
// exist. The file is written under a temporary name and linked into place,
// which fails if it exists: two processes starting at once agree on one
// secret, and nobody reads a half-written file. created says whether this
// call made it.
func readOrCreateSecretFile(path string, generate func() (string, error)) (secret string, created bool, err error) {
	secret, err = readSecretFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data directory: %w", err)
	}
	if secret, err = generate(); err != nil {
		return "", false, fmt.Errorf("generate %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return "", false, fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("remove temporary file: %w", rmErr))
		}
	}()
	werr := tmp.Chmod(0o600) // CreateTemp makes it 0600 already; this states it
	if werr == nil {
		_, werr = tmp.WriteString(strings.TrimSpace(secret) + "\n")
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", false, fmt.Errorf("write %s: %w", path, werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			existing, rerr := readSecretFile(path)
			return existing, false, rerr
		}
		return "", false, fmt.Errorf("install %s: %w", path, err)
	}
	return strings.TrimSpace(secret), true, nil
}
