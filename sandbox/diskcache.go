package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxCacheBytes bounds CacheDir on disk: wazero's compiled code and
// the instrumented modules together. A Go tool compiles to tens of
// megabytes of machine code, so this keeps the last hundred or so modules.
const DefaultMaxCacheBytes = 4 << 30

// The disk caches grow with every distinct module built or uploaded, and
// nothing else removes a file: a build that is never deployed, or a tool
// deleted since, would stay forever. diskCache trims CacheDir after each new
// file, oldest first. Instrumented modules have their modification time
// refreshed when used, so those of deployed tools stay; wazero's compiled
// files are not touched on use, so among them the oldest written go first:
// a module evicted while still deployed is only compiled again at its next
// load. Unlinking a file another goroutine has open is safe on the
// platforms Kiln runs on.
type diskCache struct {
	dir string
	max int64 // < 0: unbounded
	mu  sync.Mutex
}

// touch marks path as just used, so a trim keeps it longer.
func (c *diskCache) touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now) // a missed refresh only makes eviction earlier
}

// trim removes the least recently modified files under the cache until it
// fits its bound.
func (c *diskCache) trim() error {
	if c == nil || c.dir == "" || c.max < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	type file struct {
		path  string
		size  int64
		mtime time.Time
	}
	var files []file
	var total int64
	err := filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), scratchPrefix) {
			return filepath.SkipDir // a compile in progress (artifact.go)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		files = append(files, file{path, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil || total <= c.max {
		return err
	}
	slices.SortFunc(files, func(a, b file) int { return a.mtime.Compare(b.mtime) })
	for _, f := range files {
		if total <= c.max {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		total -= f.size
	}
	return nil
}
