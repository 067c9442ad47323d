//go:build !unix

package sandbox

import "errors"

// Without mmap, instance memory lives on the Go heap (memmap_unix.go).

func mapMemory(int) ([]byte, error) {
	return nil, errors.New("sandbox: mapping memory needs a Unix system")
}

func unmapMemory([]byte) error { return nil }
