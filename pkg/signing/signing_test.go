package signing_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

func echo(t *testing.T) []byte { return testmodules.WAT(t, "toolkits/wat/echo.wasm") }

func newKey(t *testing.T) signing.PrivateKey {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, k signing.PrivateKey, module []byte) []byte {
	t.Helper()
	sig, err := signing.Sign(k, module)
	if err != nil {
		t.Fatal(err)
	}
	return sig.Marshal()
}

func TestSignAndVerify(t *testing.T) {
	k := newKey(t)
	module := echo(t)
	sigFile := sign(t, k, module)
	signer, err := signing.Verify([]signing.PublicKey{newKey(t).Public(), k.Public()}, module, sigFile)
	if err != nil {
		t.Fatal(err)
	}
	if signer.ID() != k.Public().ID() {
		t.Fatalf("signer %s, want %s", signer.ID(), k.Public().ID())
	}
}

// TestVerifyRefuses: unsigned, tampered, re-manifested, wrongly keyed and
// forged modules are all refused, each with its own error.
func TestVerifyRefuses(t *testing.T) {
	k := newKey(t)
	module := echo(t)
	sigFile := sign(t, k, module)
	trusted := []signing.PublicKey{k.Public()}

	tampered := bytes.Clone(module)
	tampered[len(tampered)-1] ^= 1

	otherManifest, err := manifest.Embed(module, []byte(`{"abi":1,"tools":[{"name":"echo","description":"evil","inputSchema":{"type":"object"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// A signature whose hashes claim the new manifest but whose ed25519
	// signature is the old one: a forgery, not a tampered module.
	var forged signing.Signature
	if err := json.Unmarshal(sign(t, k, otherManifest), &forged); err != nil {
		t.Fatal(err)
	}
	var orig signing.Signature
	if err := json.Unmarshal(sigFile, &orig); err != nil {
		t.Fatal(err)
	}
	forged.Signature = orig.Signature

	stranger := newKey(t)
	for _, tc := range []struct {
		name    string
		trusted []signing.PublicKey
		module  []byte
		sig     []byte
		want    error
	}{
		{"unsigned", trusted, module, nil, signing.ErrMalformed},
		{"not a signature", trusted, module, []byte("hello"), signing.ErrMalformed},
		{"unknown field", trusted, module, bytes.Replace(sigFile, []byte(`"format"`), []byte(`"extra": 1, "format"`), 1), signing.ErrMalformed},
		{"tampered module", trusted, tampered, sigFile, signing.ErrTampered},
		{"other manifest", trusted, otherManifest, sigFile, signing.ErrTampered},
		{"not wasm", trusted, []byte("not wasm"), sigFile, signing.ErrTampered},
		{"untrusted signer", []signing.PublicKey{stranger.Public()}, module, sigFile, signing.ErrUntrusted},
		{"no trusted keys", nil, module, sigFile, signing.ErrUntrusted},
		{"forged", trusted, otherManifest, forged.Marshal(), signing.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signing.Verify(tc.trusted, tc.module, tc.sig)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKeyText(t *testing.T) {
	k := newKey(t)
	pub, err := signing.ParsePublicKey(k.Public().String())
	if err != nil || pub.ID() != k.Public().ID() {
		t.Fatalf("public key round trip: %v", err)
	}
	back, err := signing.ParsePrivateKey(k.Text())
	if err != nil || back.Public().ID() != k.Public().ID() {
		t.Fatalf("private key round trip: %v", err)
	}
	for _, v := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		if out := fmt.Sprintf(v, k); strings.Contains(out, strings.TrimSpace(strings.TrimPrefix(k.Text(), "ed25519-private:"))) || out != "[redacted]" {
			t.Errorf("%s prints %q", v, out)
		}
	}
	keys, err := signing.ParsePublicKeys(" " + k.Public().String() + ",\n" + newKey(t).Public().String() + " ")
	if err != nil || len(keys) != 2 {
		t.Fatalf("list: %d keys, %v", len(keys), err)
	}
	if keys, err := signing.ParsePublicKeys(""); err != nil || len(keys) != 0 {
		t.Fatalf("empty list: %v %v", keys, err)
	}
	for _, bad := range []string{"ed25519:AAAA", "rsa:AAAA", "ed25519:!!!", k.Text()} {
		if _, err := signing.ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
	if _, err := signing.ParsePrivateKey(k.Public().String()); err == nil {
		t.Error("a public key parsed as a private key")
	}
}

func TestPrivateKeyFile(t *testing.T) {
	k := newKey(t)
	path := filepath.Join(t.TempDir(), "library.key")
	if err := signing.WritePrivateKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", info.Mode(), err)
	}
	if err := signing.WritePrivateKeyFile(path, newKey(t)); err == nil {
		t.Fatal("an existing key file was overwritten")
	}
	back, err := signing.ReadPrivateKeyFile(path)
	if err != nil || back.Public().ID() != k.Public().ID() {
		t.Fatalf("read back: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.ReadPrivateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file was read: %v", err)
	}
}
