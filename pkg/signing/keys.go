// Package signing signs and verifies library modules with ed25519, so that a
// module an operator uploads is known to come from a key the installation
// trusts and to be exactly the bytes that key signed.
//
// # Formats
//
// A public key is written as "ed25519:" followed by the standard base64 of
// its 32 bytes, for example in KILN_LIBRARY_KEYS (several keys are separated
// by commas or white space).
//
// A private key file holds one line, "ed25519-private:" followed by the
// standard base64 of the key's 32-byte seed. It is created with mode 0600 and
// refused when other users can read it.
//
// A key's ID is the hex of the first 8 bytes of the SHA-256 of its public
// key. Signatures name their key by ID; the store records it as the signer.
//
// A signature file (module.wasm.sig by convention) is a JSON object:
//
//	{
//	  "format": "kiln-library-signature/v1",
//	  "key_id": "<16 hex digits>",
//	  "module_sha256": "<64 hex digits: SHA-256 of the module file>",
//	  "manifest_sha256": "<64 hex digits: SHA-256 of the kiln.manifest section's payload; of no bytes when there is none>",
//	  "signature": "<standard base64 of the 64-byte ed25519 signature>"
//	}
//
// The signature is ed25519 over the statement
//
//	"kiln-library-signature/v1\nmodule-sha256:<hex>\nmanifest-sha256:<hex>\n"
//
// The manifest hash is implied by the module hash; it is signed as well so
// that a verifier reading only the statement knows which tool descriptions
// the signer vouched for. The library name, version and minimum tier are not
// signed: they are the uploading operator's choice.
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Text prefixes of keys.
const (
	publicPrefix  = "ed25519:"
	privatePrefix = "ed25519-private:"
)

// PublicKey is a key whose signatures an installation may trust.
type PublicKey struct {
	key ed25519.PublicKey
}

// ID names the key inside signatures: the hex of the first 8 bytes of the
// SHA-256 of the key.
func (k PublicKey) ID() string {
	sum := sha256.Sum256(k.key)
	return hex.EncodeToString(sum[:8])
}

// String is the key in its text form, "ed25519:<base64>".
func (k PublicKey) String() string {
	return publicPrefix + base64.StdEncoding.EncodeToString(k.key)
}

// ParsePublicKey reads a key in its text form.
func ParsePublicKey(s string) (PublicKey, error) {
	s = strings.TrimSpace(s)
	b64, ok := strings.CutPrefix(s, publicPrefix)
	if !ok {
		return PublicKey{}, fmt.Errorf("signing: a public key must start with %q", publicPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return PublicKey{}, errors.New("signing: the public key is not valid base64")
	}
	if len(raw) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("signing: the public key is %d bytes; an ed25519 key is %d", len(raw), ed25519.PublicKeySize)
	}
	return PublicKey{key: ed25519.PublicKey(raw)}, nil
}

// ParsePublicKeys reads a list of keys separated by commas or white space,
// as KILN_LIBRARY_KEYS holds them. An empty list is no keys.
func ParsePublicKeys(list string) ([]PublicKey, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	var out []PublicKey
	for i, f := range fields {
		k, err := ParsePublicKey(f)
		if err != nil {
			return nil, fmt.Errorf("key %d of the list: %w", i+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// PrivateKey signs modules. It prints as [redacted] with every fmt verb. The
// key is reached through a func for the reason secrets.MasterKey gives: fmt
// prints a func as an address wherever it meets one.
type PrivateKey struct {
	key func() ed25519.PrivateKey
}

func newPrivateKey(k ed25519.PrivateKey) PrivateKey {
	return PrivateKey{key: func() ed25519.PrivateKey { return k }}
}

// Format implements fmt.Formatter.
func (PrivateKey) Format(f fmt.State, _ rune) {
	// fmt.State writes into fmt's buffer, which cannot fail.
	_, _ = io.WriteString(f, "[redacted]")
}

// GenerateKey returns a new random key.
func GenerateKey() (PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("signing: generate key: %w", err)
	}
	return newPrivateKey(priv), nil
}

// Public returns the key's public half.
func (k PrivateKey) Public() PublicKey {
	return PublicKey{key: k.key().Public().(ed25519.PublicKey)}
}

// Text is the key in the private key file's form. Handle with care.
func (k PrivateKey) Text() string {
	return privatePrefix + base64.StdEncoding.EncodeToString(k.key().Seed()) + "\n"
}

// ParsePrivateKey reads a key in the private key file's form. Errors do not
// repeat the input.
func ParsePrivateKey(s string) (PrivateKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), privatePrefix)
	if !ok {
		return PrivateKey{}, fmt.Errorf("signing: a private key must start with %q", privatePrefix)
	}
	seed, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return PrivateKey{}, errors.New("signing: the private key is not valid base64")
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return PrivateKey{}, fmt.Errorf("signing: the private key is %d bytes; an ed25519 seed is %d", len(seed), ed25519.SeedSize)
	}
	return newPrivateKey(ed25519.NewKeyFromSeed(seed)), nil
}

// ReadPrivateKeyFile reads a private key file, refusing one that other
// users can read: a signing key anyone on the machine can read vouches for
// nothing.
func ReadPrivateKeyFile(path string) (PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("signing: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return PrivateKey{}, fmt.Errorf("signing: %s is accessible to other users (mode %04o); run chmod 600 on it", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("signing: %w", err)
	}
	defer clear(data)
	k, err := ParsePrivateKey(string(data))
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// WritePrivateKeyFile writes k to a new file with mode 0600. It fails if the
// file exists, so a key is never overwritten by accident.
func WritePrivateKeyFile(path string, k PrivateKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("signing: %s exists; refusing to overwrite a key", path)
		}
		return fmt.Errorf("signing: %w", err)
	}
	_, werr := f.WriteString(k.Text())
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return errors.Join(fmt.Errorf("signing: write %s: %w", path, werr), os.Remove(path))
	}
	return nil
}
