package sandbox_test

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
)

// cacheSize sums the files under dir and finds the largest.
func cacheSize(t *testing.T, dir string) (total int64, files int, largest int64) {
	t.Helper()
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		largest = max(largest, info.Size())
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total, files, largest
}

// TestDiskCacheIsBounded: every new module adds an instrumented copy and
// compiled code to CacheDir; past MaxCacheBytes the oldest files go, so what
// modules that are never loaded again left behind is reclaimed. The bound
// is crossed on purpose: unbounded, the same loads keep every file.
func TestDiskCacheIsBounded(t *testing.T) {
	names := []string{"spin", "grow", "recurse", "flood", "badptr", "noresult"}
	loadAll := func(max int64) (int64, int, int64) {
		dir := t.TempDir()
		e := newEngine(t, sandbox.Config{CacheDir: dir, MaxCacheBytes: max})
		for _, n := range names {
			load(t, e, wat(t, n))
		}
		return cacheSize(t, dir)
	}
	all, allFiles, largest := loadAll(-1)
	if allFiles < len(names) {
		t.Fatalf("unbounded: %d files for %d modules", allFiles, len(names))
	}
	const bound = 1 << 10
	size, files, _ := loadAll(bound)
	// The last module's compiled code is written after the trim its
	// instrumented copy started: the cache may pass the bound by that.
	if files >= allFiles || size >= all {
		t.Fatalf("bounded by %d bytes: %d bytes in %d files, the same as unbounded (%d bytes in %d files)", bound, size, files, all, allFiles)
	}
	if size > bound+largest {
		t.Errorf("bounded by %d bytes, %d bytes remain; want at most the bound and one module's compiled code (%d)", bound, size, largest)
	}
}
