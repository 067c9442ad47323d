package build_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
)

// TestBuildTrimsTheGoCache crosses the cache bound: after a build (a
// failed one: what it leaves counts as well) the least recently used
// entries are gone and the cache fits again. A deleted tool's entries are
// such entries, never used again.
func TestBuildTrimsTheGoCache(t *testing.T) {
	cache := t.TempDir()
	// A cache Kiln made: only those are trimmed.
	if err := os.WriteFile(filepath.Join(cache, build.OwnedCacheMarker), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	now := time.Now()
	var paths []string
	for i, name := range []string{"0a/oldest-d", "0b/older-d", "0c/newer-d", "0d/newest-d"} {
		paths = append(paths, writeAged(t, filepath.Join(cache, name), mib, now.Add(time.Duration(i-4)*time.Hour)))
	}
	b := newBuilder(t)
	b.GoCache = cache
	b.GoCacheBytes = 2*mib + mib/2
	// Refused by the go command before it compiles anything.
	_, err := b.Build(context.Background(), map[string][]byte{"main.go": []byte("package main\n\nimport (\n")})
	var buildErr *build.Error
	if !errors.As(err, &buildErr) {
		t.Fatalf("err = %v, want a build.Error", err)
	}
	for i, p := range paths {
		_, err := os.Stat(p)
		if evicted := errors.Is(err, os.ErrNotExist); evicted != (i < 2) {
			t.Errorf("%s: evicted %v, err %v", p, evicted, err)
		}
	}
	if size := dirSize(t, cache); size > b.GoCacheBytes {
		t.Errorf("the cache holds %d bytes, over its bound of %d", size, b.GoCacheBytes)
	}
}

func writeAged(t *testing.T, path string, size int, mtime time.Time) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return path
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		total += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// TestNewCacheIsClaimedBeforeTheBuild: a GOCACHE that does not exist yet is
// Kiln's, although the go command fills it before the build ends, so the
// bound applies from the first build on.
func TestNewCacheIsClaimedBeforeTheBuild(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "data", "cache", "go-build")
	b := newBuilder(t)
	b.GoCache = cache
	b.GoCacheBytes = 1
	_, err := b.Build(context.Background(), map[string][]byte{"main.go": []byte("package main\n\nimport (\n")})
	var buildErr *build.Error
	if !errors.As(err, &buildErr) {
		t.Fatalf("err = %v, want a build.Error", err)
	}
	if _, err := os.Stat(filepath.Join(cache, build.OwnedCacheMarker)); err != nil {
		t.Fatalf("the new cache was not claimed: %v", err)
	}
	if size := dirSize(t, cache); size > 1<<10 {
		t.Errorf("the cache holds %d bytes after a trim to 1 byte", size)
	}
}
