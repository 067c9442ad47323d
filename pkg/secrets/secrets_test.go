package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func newBox(t *testing.T) (*Box, MasterKey) {
	t.Helper()
	k, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b, k
}

var ad = []byte("server:srv_1/env:API_KEY")

func TestSealOpen(t *testing.T) {
	b, _ := newBox(t)
	for _, plaintext := range [][]byte{nil, []byte("x"), []byte("sk-live-0123456789"), bytes.Repeat([]byte{0xff}, 1<<16)} {
		sealed, err := b.Seal(plaintext, ad)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(plaintext)+Overhead {
			t.Fatalf("sealed %d bytes into %d, want overhead %d", len(plaintext), len(sealed), Overhead)
		}
		if len(plaintext) > 4 && bytes.Contains(sealed, plaintext) {
			t.Fatal("the plaintext is visible in the sealed value")
		}
		got, err := b.Open(sealed, ad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Fatalf("opened %q, want %q", got, plaintext)
		}
	}
}

// TestSealIsRandomized: the same value sealed twice looks different, so equal
// secrets cannot be spotted in the database.
func TestSealIsRandomized(t *testing.T) {
	b, _ := newBox(t)
	one, err := b.Seal([]byte("same"), ad)
	if err != nil {
		t.Fatal(err)
	}
	two, err := b.Seal([]byte("same"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(one, two) || bytes.Equal(one[headerSize:], two[headerSize:]) {
		t.Fatal("sealing is deterministic")
	}
}

// TestTamper flips every bit of a sealed value in turn: each change must be
// detected, whether it hits the version, key id, wrapped key, nonce,
// ciphertext or tag.
func TestTamper(t *testing.T) {
	b, _ := newBox(t)
	sealed, err := b.Seal([]byte("sk-live-0123456789"), ad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for bit := range 8 {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1 << bit
			got, err := b.Open(bad, ad)
			if err == nil {
				t.Fatalf("flipping bit %d of byte %d went unnoticed (opened %q)", bit, i, got)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("byte %d: unexpected error %v", i, err)
			}
		}
	}
	for _, n := range []int{0, 1, headerSize, Overhead - 1, len(sealed) - 1} {
		if _, err := b.Open(sealed[:n], ad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	if _, err := b.Open(append(bytes.Clone(sealed), 0), ad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("extended: %v", err)
	}
}

func TestWrongAssociatedData(t *testing.T) {
	b, _ := newBox(t)
	sealed, err := b.Seal([]byte("sk-live-0123456789"), ad)
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range [][]byte{nil, []byte("server:srv_2/env:API_KEY"), append(bytes.Clone(ad), 0)} {
		if _, err := b.Open(sealed, other); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("opened with associated data %q: %v", other, err)
		}
	}
}

// TestSwappedWrappedKey: a data key moved from another sealed value does not
// open this one.
func TestSwappedWrappedKey(t *testing.T) {
	b, _ := newBox(t)
	one, err := b.Seal([]byte("first secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	two, err := b.Seal([]byte("second secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	mixed := append(bytes.Clone(one[:headerSize]), two[headerSize:]...)
	if _, err := b.Open(mixed, ad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a value with another's header opened: %v", err)
	}
}

func TestWrongMasterKeyAndRotation(t *testing.T) {
	oldBox, oldKey := newBox(t)
	sealed, err := oldBox.Seal([]byte("token"), ad)
	if err != nil {
		t.Fatal(err)
	}
	otherBox, newKey := newBox(t)
	if _, err := otherBox.Open(sealed, ad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("another master key: %v", err)
	}
	// Rotation: the new key is primary, the old one still opens.
	rotated, err := New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.NeedsRewrap(sealed) {
		t.Fatal("a value under the old key does not need rewrapping")
	}
	rewrapped, err := rotated.Rewrap(sealed, ad)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.NeedsRewrap(rewrapped) {
		t.Fatal("a rewrapped value still needs rewrapping")
	}
	if got, err := otherBox.Open(rewrapped, ad); err != nil || string(got) != "token" {
		t.Fatalf("the new key alone opens %q, %v", got, err)
	}
}

func TestUnsupportedVersion(t *testing.T) {
	b, _ := newBox(t)
	sealed, err := b.Seal([]byte("v"), ad)
	if err != nil {
		t.Fatal(err)
	}
	sealed[0] = 2
	if _, err := b.Open(sealed, ad); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 2: %v", err)
	}
}

func TestNoZeroKey(t *testing.T) {
	if _, err := New(MasterKey{}); err == nil {
		t.Fatal("a Box with an empty master key")
	}
}

// TestNothingPrintsKeys: a key or a Box printed by mistake shows nothing.
func TestNothingPrintsKeys(t *testing.T) {
	b, k := newBox(t)
	raw := k.bytes()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		type hidden struct{ k MasterKey }
		for _, v := range []any{k, &k, b, struct{ K MasterKey }{k}, hidden{k}, &hidden{k}} {
			out := fmt.Sprintf(verb, v)
			if bytes.Contains([]byte(out), []byte(k.Base64())) || bytes.Contains([]byte(out), []byte(fmt.Sprintf("%x", raw))) ||
				bytes.Contains([]byte(out), []byte(fmt.Sprint(raw))) {
				t.Fatalf("%s of %T shows the key: %s", verb, v, out)
			}
		}
	}
}

func TestDeriveKey(t *testing.T) {
	k, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	derive := func(b *Box, purpose string) []byte {
		t.Helper()
		key, err := b.DeriveKey(purpose, 32)
		if err != nil || len(key) != 32 {
			t.Fatalf("DeriveKey(%q): %d bytes, %v", purpose, len(key), err)
		}
		return key
	}
	a, _ := New(k)
	b, _ := New(k, other) // the same primary, as on another node
	c, _ := New(other)
	if !bytes.Equal(derive(a, "cookies"), derive(b, "cookies")) {
		t.Error("two boxes with the same primary key derived different keys")
	}
	if bytes.Equal(derive(a, "cookies"), derive(a, "csrf")) {
		t.Error("two purposes derived the same key")
	}
	if bytes.Equal(derive(a, "cookies"), derive(c, "cookies")) {
		t.Error("two master keys derived the same key")
	}
}
