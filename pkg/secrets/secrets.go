// Package secrets encrypts values Kiln keeps at rest (env var values,
// upstream tokens, signing keys) with envelope encryption: each value gets a
// fresh random 256-bit data key, the value is sealed with AES-256-GCM under
// that key, and the data key is sealed under the master key. The master key
// therefore encrypts only short random keys, never data, and can be rotated
// by rewrapping data keys without touching values.
//
// Callers pass associated data that names where the value belongs (for an
// env var: the server and the variable's name), so a sealed value copied to
// another row does not open there.
//
// Errors never contain secret values, keys or plaintext.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// KeySize is the size of the master key and of data keys: AES-256.
const KeySize = 32

// Errors of Open. They say what is wrong with a sealed value, never what is
// in it.
var (
	// ErrCorrupt: the value was altered, truncated, or sealed with other
	// associated data. GCM cannot tell these apart, on purpose.
	ErrCorrupt = errors.New("secrets: sealed value is corrupt or does not belong here")
	// ErrUnknownKey: the value was sealed under a master key this Box does
	// not have.
	ErrUnknownKey = errors.New("secrets: sealed under an unknown master key")
	// ErrVersion: the value has a format version this build cannot read.
	ErrVersion = errors.New("secrets: unsupported sealed value format")
)

// Sealed value format, version 1:
//
//	version   1 byte  (1)
//	key id    8 bytes  which master key wrapped the data key (KeyID)
//	wrap nonce 12 bytes
//	wrapped   48 bytes the data key sealed under the master key (AAD: version || key id)
//	nonce     12 bytes
//	sealed    the value sealed under the data key, with its 16-byte tag
//	          (AAD: the 69 bytes above || the caller's associated data)
//
// Binding the header into the value's AAD means no part of it can be swapped
// for another value's. Each data key seals exactly one value, so its random
// nonce can never repeat under it.
const (
	version1    = 1
	keyIDSize   = 8
	nonceSize   = 12
	tagSize     = 16
	wrappedSize = KeySize + tagSize
	headerSize  = 1 + keyIDSize + nonceSize + wrappedSize
	// Overhead is how many bytes sealing adds to a value.
	Overhead = headerSize + nonceSize + tagSize
)

// Box seals and opens values. It seals under its primary master key and opens
// values sealed under the primary or any older key it was given, which is
// how a master key is rotated. A Box is safe for concurrent use.
type Box struct {
	primary keyID
	keys    map[keyID]cipher.AEAD
	// derivation is the HKDF pseudorandom key of the primary master key,
	// for DeriveKey.
	derivation []byte
}

type keyID [keyIDSize]byte

// Format implements fmt.Formatter so printing a Box shows no key material.
func (b *Box) Format(f fmt.State, _ rune) {
	// fmt.State writes into fmt's buffer, which cannot fail.
	_, _ = io.WriteString(f, "secrets.Box[redacted]")
}

// New returns a Box sealing under primary and also opening values sealed
// under older.
func New(primary MasterKey, older ...MasterKey) (*Box, error) {
	b := &Box{keys: map[keyID]cipher.AEAD{}}
	for i, k := range append([]MasterKey{primary}, older...) {
		if k.bytes() == nil {
			return nil, errors.New("secrets: a master key is empty")
		}
		aead, err := newGCM(k.bytes())
		if err != nil {
			return nil, err
		}
		id := k.id()
		if i == 0 {
			b.primary = id
			if b.derivation, err = hkdf.Extract(sha256.New, k.bytes(), []byte("kiln-derived-keys/v1")); err != nil {
				return nil, fmt.Errorf("secrets: %w", err)
			}
		}
		b.keys[id] = aead
	}
	return b, nil
}

// DeriveKey returns a size-byte key for one purpose (HKDF-SHA256 of the
// primary master key): the same on every node and across restarts, and
// unrelated for different purposes. Rotating the master key changes it.
func (b *Box) DeriveKey(purpose string, size int) ([]byte, error) {
	k, err := hkdf.Expand(sha256.New, b.derivation, purpose, size)
	if err != nil {
		return nil, fmt.Errorf("secrets: deriving a key for %s: %w", purpose, err)
	}
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return aead, nil
}

// Seal encrypts plaintext bound to associatedData (which is not encrypted,
// and must be given again to Open).
func (b *Box) Seal(plaintext, associatedData []byte) ([]byte, error) {
	dataKey := make([]byte, KeySize)
	defer clear(dataKey)
	out := make([]byte, headerSize+nonceSize, Overhead+len(plaintext))
	out[0] = version1
	copy(out[1:], b.primary[:])
	wrapNonce := out[1+keyIDSize : 1+keyIDSize+nonceSize]
	nonce := out[headerSize : headerSize+nonceSize]
	for _, buf := range [][]byte{dataKey, wrapNonce, nonce} {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("secrets: random: %w", err)
		}
	}
	wrapped := b.keys[b.primary].Seal(nil, wrapNonce, dataKey, out[:1+keyIDSize])
	copy(out[1+keyIDSize+nonceSize:], wrapped)

	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, plaintext, aad(out[:headerSize], associatedData)), nil
}

// Open decrypts a value from Seal, given the same associated data.
func (b *Box) Open(sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrCorrupt
	}
	if sealed[0] != version1 {
		return nil, ErrVersion
	}
	var id keyID
	copy(id[:], sealed[1:])
	master, ok := b.keys[id]
	if !ok {
		return nil, ErrUnknownKey
	}
	header := sealed[:headerSize]
	wrapNonce := header[1+keyIDSize : 1+keyIDSize+nonceSize]
	dataKey, err := master.Open(nil, wrapNonce, header[1+keyIDSize+nonceSize:], header[:1+keyIDSize])
	if err != nil {
		return nil, ErrCorrupt
	}
	defer clear(dataKey)
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	nonce := sealed[headerSize : headerSize+nonceSize]
	plaintext, err := aead.Open(nil, nonce, sealed[headerSize+nonceSize:], aad(header, associatedData))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plaintext, nil
}

// NeedsRewrap reports whether a sealed value's data key is wrapped under a
// key other than the primary, so a rotation can find what to Rewrap.
func (b *Box) NeedsRewrap(sealed []byte) bool {
	return len(sealed) < 1+keyIDSize || !bytes.Equal(sealed[1:1+keyIDSize], b.primary[:])
}

// Rewrap re-seals a value under the primary master key with the same
// associated data, after checking it opens.
func (b *Box) Rewrap(sealed, associatedData []byte) ([]byte, error) {
	plaintext, err := b.Open(sealed, associatedData)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	return b.Seal(plaintext, associatedData)
}

func aad(header, associatedData []byte) []byte {
	out := make([]byte, 0, len(header)+len(associatedData))
	return append(append(out, header...), associatedData...)
}

// id names a master key inside sealed values without revealing it: a hash
// of the key under a label of its own.
func (k MasterKey) id() keyID {
	sum := sha256.Sum256(append([]byte("kiln secrets master key id\x00"), k.bytes()...))
	var id keyID
	copy(id[:], sum[:])
	return id
}

// EnvValueAssociatedData binds a sealed env var value to its server and
// name, so a sealed value copied to another row does not open there. The
// API seals with it and the MCP host opens with it.
func EnvValueAssociatedData(serverID, name string) []byte {
	return []byte("kiln env value\x00" + serverID + "\x00" + name)
}
