package build

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTrimGoCacheEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	write := func(name string, size int, age time.Duration) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return path
	}
	readme := write("README", 100, 48*time.Hour) // not an entry: never removed
	old := write("ab/old-a", 40, 3*time.Hour)
	used := write("cd/used-d", 40, time.Hour) // older file, but used since
	fresh := write("ab/fresh-d", 40, time.Minute)

	if err := trimGoCache(dir, 120); err != nil { // within the bound: nothing goes
		t.Fatal(err)
	}
	if err := trimGoCache(dir, 80); err != nil {
		t.Fatal(err)
	}
	for path, kept := range map[string]bool{readme: true, old: false, used: true, fresh: true} {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) == kept {
			t.Errorf("%s: kept %v, want %v (%v)", filepath.Base(path), !kept, kept, err)
		}
	}
	if err := trimGoCache(dir, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(readme); err != nil {
		t.Errorf("README: %v", err)
	}
	if err := trimGoCache(filepath.Join(dir, "missing"), 0); err != nil {
		t.Errorf("a cache not yet created: %v", err)
	}
}

// TestOnlyOwnedCachesAreClaimed: a new or empty directory becomes Kiln's;
// one that already holds another program's cache never does, so it is
// never trimmed.
func TestOnlyOwnedCachesAreClaimed(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "new", "go-build")
	if owned, err := claimGoCache(fresh); err != nil || !owned {
		t.Fatalf("a new directory: owned %v, %v", owned, err)
	}
	if owned, err := claimGoCache(fresh); err != nil || !owned {
		t.Fatalf("a claimed directory: owned %v, %v", owned, err)
	}
	shared := t.TempDir()
	if err := os.MkdirAll(filepath.Join(shared, "ab"), 0o700); err != nil {
		t.Fatal(err)
	}
	if owned, err := claimGoCache(shared); err != nil || owned {
		t.Fatalf("somebody else's cache: owned %v, %v", owned, err)
	}
	if _, err := os.Stat(filepath.Join(shared, ownedMarker)); err == nil {
		t.Fatal("somebody else's cache was marked as Kiln's")
	}
}
