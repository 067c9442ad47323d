//go:build unix

package sandbox

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// mapMemory maps n bytes (a multiple of the host's page) of zeroed memory,
// outside the Go heap: address space only, until a page is touched.
func mapMemory(n int) ([]byte, error) {
	buf, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("sandbox: mapping instance memory: %w", err)
	}
	return buf, nil
}

func unmapMemory(buf []byte) error { return unix.Munmap(buf) }
