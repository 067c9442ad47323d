//go:build !linux

package sandbox

import "errors"

// Without Linux's userfaultfd and PAGEMAP_SCAN, restore copies the whole
// memory (dirty_linux.go).

const (
	dirtyTrackingMinBytes = 1 << 20
	hostPage              = 4096
)

type dirtyTracker struct{}

func newDirtyTracker() *dirtyTracker { return nil }

func (t *dirtyTracker) close() error { return nil }

type pageRegion struct{ start, end, categories uint64 }

type trackedRegion struct{ buf []byte }

func (r *trackedRegion) base() uint64 { return 0 }

func (t *dirtyTracker) track(int) (*trackedRegion, error) {
	return nil, errors.New("sandbox: dirty-page tracking needs Linux")
}

func (r *trackedRegion) protect(_, _ uint64) error { return nil }

func (t *dirtyTracker) written(_ *trackedRegion, _ uint64, out []pageRegion) ([]pageRegion, error) {
	return out, nil
}

func (r *trackedRegion) close() error { return nil }
