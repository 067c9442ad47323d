package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

// Format is the version tag of signature files and of the signed statement.
const Format = "kiln-library-signature/v1"

// MaxSignatureBytes bounds a signature file; a real one is about 300 bytes.
const MaxSignatureBytes = 16 << 10

// Errors of Verify, wrapped with details: test with errors.Is. The details
// never include key material.
var (
	// ErrMalformed: the signature file is not a signature of this format.
	ErrMalformed = errors.New("signing: malformed signature")
	// ErrTampered: the module or its manifest is not the one that was
	// signed (the hashes differ).
	ErrTampered = errors.New("signing: the module is not the one that was signed")
	// ErrUntrusted: the signature names a key that is not trusted here.
	ErrUntrusted = errors.New("signing: the signing key is not trusted")
	// ErrBadSignature: the signature does not verify under the named key.
	ErrBadSignature = errors.New("signing: the signature is invalid")
)

// Signature is a detached signature of a module; its JSON form is the
// signature file.
type Signature struct {
	Format         string `json:"format"`
	KeyID          string `json:"key_id"`
	ModuleSHA256   string `json:"module_sha256"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Signature      []byte `json:"signature"` // base64 in JSON
}

// Digest is what a signature covers: the hashes of a module and of its
// manifest section.
type Digest struct {
	Module   [sha256.Size]byte
	Manifest [sha256.Size]byte
}

// DigestModule hashes a module and its kiln.manifest section. A module
// without the section (a plain WASI program) has the hash of no bytes as its
// manifest hash. Input that is not a WebAssembly binary is an error.
func DigestModule(module []byte) (Digest, error) {
	payload, _, err := manifest.Extract(module)
	if err != nil {
		return Digest{}, fmt.Errorf("signing: %w", err)
	}
	return Digest{Module: sha256.Sum256(module), Manifest: sha256.Sum256(payload)}, nil
}

// statement is the message the ed25519 signature covers.
func (d Digest) statement() []byte {
	return fmt.Appendf(nil, "%s\nmodule-sha256:%x\nmanifest-sha256:%x\n", Format, d.Module, d.Manifest)
}

// Sign signs module with k.
func Sign(k PrivateKey, module []byte) (Signature, error) {
	d, err := DigestModule(module)
	if err != nil {
		return Signature{}, err
	}
	return Signature{
		Format:         Format,
		KeyID:          k.Public().ID(),
		ModuleSHA256:   hex.EncodeToString(d.Module[:]),
		ManifestSHA256: hex.EncodeToString(d.Manifest[:]),
		Signature:      ed25519.Sign(k.key(), d.statement()),
	}, nil
}

// Marshal returns the signature file's bytes.
func (s Signature) Marshal() []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		// A struct of strings and bytes always marshals.
		panic(fmt.Sprintf("signing: marshal signature: %v", err))
	}
	return append(b, '\n')
}

var (
	hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// ParseSignature reads a signature file strictly: unknown fields, a
// different format or malformed hashes are ErrMalformed.
func ParseSignature(data []byte) (Signature, error) {
	if len(data) > MaxSignatureBytes {
		return Signature{}, fmt.Errorf("%w: the file is %d bytes, more than %d", ErrMalformed, len(data), MaxSignatureBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Signature
	if err := dec.Decode(&s); err != nil {
		return Signature{}, fmt.Errorf("%w: not a signature file: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Signature{}, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	switch {
	case s.Format != Format:
		return Signature{}, fmt.Errorf("%w: format %q; this build reads %q", ErrMalformed, s.Format, Format)
	case !hex16.MatchString(s.KeyID):
		return Signature{}, fmt.Errorf("%w: key_id must be 16 lowercase hex digits", ErrMalformed)
	case !hex64.MatchString(s.ModuleSHA256) || !hex64.MatchString(s.ManifestSHA256):
		return Signature{}, fmt.Errorf("%w: the hashes must be 64 lowercase hex digits", ErrMalformed)
	case len(s.Signature) != ed25519.SignatureSize:
		return Signature{}, fmt.Errorf("%w: the signature is %d bytes; an ed25519 signature is %d", ErrMalformed, len(s.Signature), ed25519.SignatureSize)
	}
	return s, nil
}

// Verify checks that sigFile is a valid signature of module by one of the
// trusted keys and returns that key. The order of checks puts the most
// useful message first: a module that is not the signed one is reported as
// tampered even when its signer is also unknown.
func Verify(trusted []PublicKey, module, sigFile []byte) (PublicKey, error) {
	sig, err := ParseSignature(sigFile)
	if err != nil {
		return PublicKey{}, err
	}
	d, err := DigestModule(module)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	if !sameHex(sig.ModuleSHA256, d.Module[:]) {
		return PublicKey{}, fmt.Errorf("%w: the module's SHA-256 is %x; the signature is for %s", ErrTampered, d.Module, sig.ModuleSHA256)
	}
	if !sameHex(sig.ManifestSHA256, d.Manifest[:]) {
		return PublicKey{}, fmt.Errorf("%w: the manifest's SHA-256 is %x; the signature is for %s", ErrTampered, d.Manifest, sig.ManifestSHA256)
	}
	for _, k := range trusted {
		if k.ID() != sig.KeyID {
			continue
		}
		if !ed25519.Verify(k.key, d.statement(), sig.Signature) {
			return PublicKey{}, fmt.Errorf("%w: it does not verify under key %s", ErrBadSignature, sig.KeyID)
		}
		return k, nil
	}
	if len(trusted) == 0 {
		return PublicKey{}, fmt.Errorf("%w: no library signing keys are configured (KILN_LIBRARY_KEYS)", ErrUntrusted)
	}
	return PublicKey{}, fmt.Errorf("%w: the module was signed by key %s, which is not among the %d trusted keys", ErrUntrusted, sig.KeyID, len(trusted))
}

func sameHex(h string, sum []byte) bool {
	return subtle.ConstantTimeCompare([]byte(h), []byte(hex.EncodeToString(sum))) == 1
}
