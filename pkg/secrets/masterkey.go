package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvMasterKey is the environment variable holding the base64 master key.
const EnvMasterKey = "KILN_MASTER_KEY"

// KeyFileName is the development key file inside the data directory.
const KeyFileName = "master.key"

// Mode says where a master key may come from.
type Mode int

const (
	// Production takes the key from KILN_MASTER_KEY only; without it,
	// loading fails.
	Production Mode = iota
	// Development also reads, or creates, a key file in the data directory.
	Development
)

// ErrNoMasterKey: production mode and no KILN_MASTER_KEY.
var ErrNoMasterKey = errors.New("secrets: " + EnvMasterKey + " is not set; production needs a master key " +
	"(32 random bytes, base64: openssl rand -base64 32)")

// MasterKey is the key that wraps data keys. It prints as [redacted] with
// every fmt verb, so it cannot end up in a log by accident. The bytes are
// reached through a func because fmt prints a func as an address wherever it
// meets one, even inside an unexported field (where it cannot call Format)
// and with a wrong verb (where it dumps pointed-to arrays). The zero
// MasterKey is no key.
type MasterKey struct {
	key func() *[KeySize]byte
}

func newMasterKey() MasterKey {
	b := new([KeySize]byte)
	return MasterKey{key: func() *[KeySize]byte { return b }}
}

// bytes is the key; nil for the zero MasterKey.
func (k MasterKey) bytes() []byte {
	if k.key == nil {
		return nil
	}
	return k.key()[:]
}

// Format implements fmt.Formatter.
func (MasterKey) Format(f fmt.State, _ rune) {
	// fmt.State writes into fmt's buffer, which cannot fail.
	_, _ = io.WriteString(f, "[redacted]")
}

// Base64 is the key in the form KILN_MASTER_KEY takes, to move a development
// key into configuration. Handle with care.
func (k MasterKey) Base64() string { return base64.StdEncoding.EncodeToString(k.bytes()) }

// GenerateMasterKey returns a new random key.
func GenerateMasterKey() (MasterKey, error) {
	k := newMasterKey()
	if _, err := rand.Read(k.bytes()); err != nil {
		return MasterKey{}, fmt.Errorf("secrets: random: %w", err)
	}
	return k, nil
}

// ParseMasterKey decodes a base64 key (standard or URL alphabet, padded or
// not) of exactly KeySize bytes. Errors do not repeat the input.
func ParseMasterKey(s string) (MasterKey, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		defer clear(b)
		if len(b) != KeySize {
			return MasterKey{}, fmt.Errorf("secrets: the master key decodes to %d bytes; it must be %d", len(b), KeySize)
		}
		k := newMasterKey()
		copy(k.bytes(), b)
		return k, nil
	}
	return MasterKey{}, errors.New("secrets: the master key is not valid base64")
}

// Source says where LoadMasterKey found the key, for the startup log.
type Source struct {
	Env       bool   // from KILN_MASTER_KEY
	Path      string // the key file, in development mode
	Generated bool   // the key file was created just now
}

// LoadMasterKey returns the master key from envValue (the value of
// KILN_MASTER_KEY) when it is set, in either mode. Otherwise, in Production
// it fails with ErrNoMasterKey; in Development it reads dataDir/master.key,
// creating it (mode 0600, directory 0700) with a new random key if missing.
// There is no default key.
func LoadMasterKey(envValue, dataDir string, mode Mode) (MasterKey, Source, error) {
	if strings.TrimSpace(envValue) != "" {
		k, err := ParseMasterKey(envValue)
		if err != nil {
			return MasterKey{}, Source{}, fmt.Errorf("%s: %w", EnvMasterKey, err)
		}
		return k, Source{Env: true}, nil
	}
	if mode != Development {
		return MasterKey{}, Source{}, ErrNoMasterKey
	}
	if dataDir == "" {
		return MasterKey{}, Source{}, errors.New("secrets: no data directory for the development master key")
	}
	path := filepath.Join(dataDir, KeyFileName)
	k, err := readKeyFile(path)
	if err == nil {
		return k, Source{Path: path}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return MasterKey{}, Source{}, err
	}
	k, created, err := createKeyFile(path)
	if err != nil {
		return MasterKey{}, Source{}, err
	}
	return k, Source{Path: path, Generated: created}, nil
}

// readKeyFile reads a key file, refusing one that others can read, as ssh
// does: a key anyone on the machine can read protects nothing.
func readKeyFile(path string) (MasterKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return MasterKey{}, err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return MasterKey{}, fmt.Errorf("secrets: %s is accessible to other users (mode %04o); run chmod 600 on it", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return MasterKey{}, fmt.Errorf("secrets: read master key file: %w", err)
	}
	defer clear(data)
	k, err := ParseMasterKey(string(data))
	if err != nil {
		return MasterKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// createKeyFile writes a new key to a temporary file and links it into place,
// which fails if the file exists: two processes starting at once end up with
// the same key, and nobody reads a half-written file. created is false when
// another process won the race.
func createKeyFile(path string) (k MasterKey, created bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return MasterKey{}, false, fmt.Errorf("secrets: create data directory: %w", err)
	}
	if k, err = GenerateMasterKey(); err != nil {
		return MasterKey{}, false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), KeyFileName+".tmp*")
	if err != nil {
		return MasterKey{}, false, fmt.Errorf("secrets: create master key file: %w", err)
	}
	defer func() {
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("secrets: remove temporary key file: %w", rmErr))
		}
	}()
	// CreateTemp makes the file 0600 already; Chmod states it.
	if err := tmp.Chmod(0o600); err != nil {
		return MasterKey{}, false, errors.Join(fmt.Errorf("secrets: chmod master key file: %w", err), tmp.Close())
	}
	_, werr := tmp.WriteString(k.Base64() + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return MasterKey{}, false, fmt.Errorf("secrets: write master key file: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			existing, rerr := readKeyFile(path)
			return existing, false, rerr
		}
		return MasterKey{}, false, fmt.Errorf("secrets: install master key file: %w", err)
	}
	return k, true, nil
}
