package secrets

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadFromEnv(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(i)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		for _, mode := range []Mode{Production, Development} {
			dir := t.TempDir()
			k, src, err := LoadMasterKey(enc.EncodeToString(raw)+"\n", dir, mode)
			if err != nil {
				t.Fatal(err)
			}
			if !src.Env || src.Generated || string(k.bytes()) != string(raw) {
				t.Fatalf("source %+v", src)
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a key file was written although the environment had a key")
			}
		}
	}
}

func TestBadEnvKeyHidesValue(t *testing.T) {
	for _, v := range []string{"not base64 at all: s3cr3t!", base64.StdEncoding.EncodeToString([]byte("s3cr3t-too-short"))} {
		_, _, err := LoadMasterKey(v, t.TempDir(), Development)
		if err == nil {
			t.Fatalf("accepted %q", v)
		}
		if strings.Contains(err.Error(), v) || strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("the error repeats the key: %v", err)
		}
	}
}

func TestProductionNeedsEnv(t *testing.T) {
	dir := t.TempDir()
	_, _, err := LoadMasterKey("", dir, Production)
	if !errors.Is(err, ErrNoMasterKey) {
		t.Fatalf("production without a key: %v", err)
	}
	if !strings.Contains(err.Error(), EnvMasterKey) {
		t.Fatalf("the error does not name %s: %v", EnvMasterKey, err)
	}
	// Not even an existing development key file is used.
	if _, _, err := LoadMasterKey("", dir, Development); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadMasterKey("", dir, Production); !errors.Is(err, ErrNoMasterKey) {
		t.Fatalf("production used the development key file: %v", err)
	}
}

func TestDevelopmentKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, src, err := LoadMasterKey("", dir, Development)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFileName)
	if !src.Generated || src.Path != path || src.Env {
		t.Fatalf("source %+v", src)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", perm)
	}
	if d, err := os.Stat(dir); err != nil || d.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v (%v), want 0700", d.Mode().Perm(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("data dir holds %v (%v): a temporary file was left", entries, err)
	}

	// The next start reads the same key.
	k2, src, err := LoadMasterKey("", dir, Development)
	if err != nil {
		t.Fatal(err)
	}
	if src.Generated || k1.Base64() != k2.Base64() {
		t.Fatal("the development key changed between starts")
	}
	// Values sealed before a restart open after it.
	b1, _ := New(k1)
	b2, _ := New(k2)
	sealed, err := b1.Seal([]byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Open(sealed, nil); err != nil {
		t.Fatal(err)
	}

	// A key file others can read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadMasterKey("", dir, Development); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file: %v", err)
	}
	// A damaged key file is an error, not a reason to make a new key.
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadMasterKey("", dir, Development); err == nil {
		t.Fatal("a damaged key file was accepted")
	}
}

// TestConcurrentFirstStart: processes starting together on an empty data
// directory agree on one key.
func TestConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([]string, n)
	generated := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, src, err := LoadMasterKey("", dir, Development)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i], generated[i] = k.Base64(), src.Generated
		})
	}
	wg.Wait()
	count := 0
	for i := range n {
		if keys[i] != keys[0] {
			t.Fatal("concurrent starts made different keys")
		}
		if generated[i] {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d starts say they generated the key", count)
	}
}
