//go:build !linux

package build

import "errors"

// apply refuses to build: resource limits are set with prlimit(2), which
// only Linux has, and the compiler must not run without them.
func (l Limits) apply(int) error {
	return errors.New("limiting the compiler's resources needs Linux")
}
