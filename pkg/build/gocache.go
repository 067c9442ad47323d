package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// DefaultGoCacheBytes bounds a GoBuilder's GOCACHE on disk. The standard
// library and the toolkit compiled for wasip1 take about 30 MB; the rest is
// what builds of tool sources leave, a few hundred kilobytes each for an
// ordinary tool but up to the file size limit for a hostile one.
const DefaultGoCacheBytes = 2 << 30

// The Go build cache keeps what every build compiles, and Go itself only
// removes entries unused for five days: unbounded, a few hundred bytes of
// source that compile to a large object file (170 MB was seen) fill the
// disk, and the files of a deleted tool stay there. trimGoCache removes the
// least recently used files until the cache fits its bound. Go touches an
// entry's modification time when it uses it (at most once an hour), so
// the oldest files are those no recent build needed: the standard library
// stays, and a deleted tool's files, never used again, go first.
//
// Removing an entry a concurrent build has looked up but not yet read
// makes that build fail; that happens only when the cache is over its
// bound by more than what the last hour's builds left, which is the
// situation the bound exists for.

// trimGoCache removes the least recently modified files of the Go build
// cache in dir until its files take at most maxBytes. Files outside the
// cache's entry directories (README, trim.txt) are left alone.
func trimGoCache(dir string, maxBytes int64) error {
	type entry struct {
		path  string
		size  int64
		mtime time.Time
	}
	var entries []entry
	var total int64
	subdirs, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, sub := range subdirs {
		if !sub.IsDir() || len(sub.Name()) != 2 { // entries live in 00/ … ff/
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, sub.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			info, err := f.Info()
			if errors.Is(err, fs.ErrNotExist) { // removed meanwhile
				continue
			}
			if err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				continue
			}
			entries = append(entries, entry{filepath.Join(dir, sub.Name(), f.Name()), info.Size(), info.ModTime()})
			total += info.Size()
		}
	}
	if total <= maxBytes {
		return nil
	}
	slices.SortFunc(entries, func(a, b entry) int { return a.mtime.Compare(b.mtime) })
	for _, e := range entries {
		if total <= maxBytes {
			break
		}
		if err := os.Remove(e.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", e.path, err)
		}
		total -= e.size
	}
	return nil
}

// ownedMarker is the file that marks a GOCACHE as Kiln's own. Only a cache
// Kiln created (or found empty) is trimmed: a GOCACHE shared with other
// work, such as a developer's pointed at by mistake or a test's, holds
// files other programs are about to read, and deleting them breaks those
// programs, not Kiln.
const ownedMarker = "kiln-owned-cache"

// claimGoCache reports whether Kiln owns the cache in dir, claiming it when
// it does not exist yet or is empty.
func claimGoCache(dir string) (bool, error) {
	marker := filepath.Join(dir, ownedMarker)
	if _, err := os.Stat(marker); err == nil {
		return true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, err
		}
	case err != nil:
		return false, err
	case len(entries) > 0:
		return false, nil
	}
	return true, os.WriteFile(marker, []byte("Kiln trims this Go build cache to its size bound.\n"), 0o600)
}
