package sandbox

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Dirty-page tracking for warm instances' memory (restore only what a call
// wrote). The memory of a clone lives in its own anonymous mapping,
// registered with a userfaultfd in asynchronous write-protect mode: the
// kernel write-protects every page when the instance is restored, and on a
// write to a protected page lifts the protection itself (no fault handler,
// no signal; about a microsecond per page written). After the call, the
// PAGEMAP_SCAN ioctl lists the pages not protected: every page written
// since the last restore, by the guest or by the host writing into the
// guest's memory (kiln.call_input, WASI calls), plus the hot set, the
// pages earlier restores left writable (memory.go). Restore copies those
// pages from the snapshot; written pages outside a full hot set are
// protected again. An echo call writes ~20 of the ~900 pages of a Go
// module's memory.
//
// Needs Linux 6.7 (UFFD_FEATURE_WP_ASYNC, PAGEMAP_SCAN) and a userfaultfd
// the process may open (user-mode-only, which unprivileged processes get
// unless vm.unprivileged_userfaultfd forbids even that or a seccomp filter
// blocks the syscall). The engine probes once (newDirtyTracker); without
// it, restore copies the whole memory as before.

const (
	uffdUserModeOnly      = 1 // UFFD_USER_MODE_ONLY
	uffdAPI               = 0xAA
	uffdFeatureWPAsync    = 1 << 15
	uffdFeatureWPUnpop    = 1 << 13
	uffdioAPI             = 0xC018AA3F // _IOWR(0xAA, 0x3F, struct uffdio_api)
	uffdioRegister        = 0xC020AA00 // _IOWR(0xAA, 0x00, struct uffdio_register)
	uffdioWriteProtect    = 0xC018AA06 // _IOWR(0xAA, 0x06, struct uffdio_writeprotect)
	uffdioRegisterModeWP  = 1 << 1
	uffdioWriteProtectOn  = 1 << 0
	pagemapScan           = 0xC0606610 // _IOWR('f', 16, struct pm_scan_arg)
	pmScanCheckWPAsync    = 1 << 1
	pageIsWritten         = 1 << 1
	dirtyRegionsPerIoctl  = 64
	hostPage              = 4096
	dirtyTrackingMinBytes = 1 << 20 // below this, copying everything is as cheap
)

type uffdioAPIArg struct{ api, features, ioctls uint64 }

type uffdioRange struct{ start, len uint64 }

type uffdioRegisterArg struct {
	rng          uffdioRange
	mode, ioctls uint64
}

type uffdioWriteProtectArg struct {
	rng  uffdioRange
	mode uint64
}

type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages uint64
	categoryInverted, categoryMask, categoryAnyofMask       uint64
	returnMask                                              uint64
}

type pageRegion struct{ start, end, categories uint64 }

// dirtyTracker is the engine's handle on the kernel's tracking: the
// process's pagemap, opened once. nil when the kernel cannot track.
type dirtyTracker struct {
	pagemap int
}

// newDirtyTracker probes whether this process can track written pages,
// by tracking one page; nil when it cannot (see the note above).
func newDirtyTracker() *dirtyTracker {
	fd, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	t := &dirtyTracker{pagemap: fd}
	r, err := t.track(hostPage)
	if err == nil {
		r.buf[0] = 1
		var written []pageRegion
		written, err = t.written(r, hostPage, nil)
		if err == nil && (len(written) != 1 || written[0].start != r.base()) {
			err = errors.New("a written page was not reported")
		}
		r.close()
	}
	if err != nil {
		_ = unix.Close(fd)
		return nil
	}
	return t
}

func (t *dirtyTracker) close() error {
	if t == nil {
		return nil
	}
	return unix.Close(t.pagemap)
}

// trackedRegion is one instance's memory in a tracked mapping.
type trackedRegion struct {
	buf  []byte // the whole mapping
	uffd int
	vec  []pageRegion // PAGEMAP_SCAN's output, on the heap: the kernel writes it
}

func (r *trackedRegion) base() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(r.buf))))
}

// track maps size bytes (a multiple of hostPage) of zeroed memory and
// registers them for write tracking.
func (t *dirtyTracker) track(size int) (*trackedRegion, error) {
	buf, err := mapMemory(size)
	if err != nil {
		return nil, err
	}
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK|uffdUserModeOnly, 0, 0)
	if errno != 0 {
		_ = unix.Munmap(buf)
		return nil, fmt.Errorf("sandbox: userfaultfd: %w", errno)
	}
	// Huge pages would make the unit of tracking 2 MiB.
	_ = unix.Madvise(buf, unix.MADV_NOHUGEPAGE)
	r := &trackedRegion{buf: buf, uffd: int(fd), vec: make([]pageRegion, dirtyRegionsPerIoctl)}
	api := uffdioAPIArg{api: uffdAPI, features: uffdFeatureWPAsync | uffdFeatureWPUnpop}
	reg := uffdioRegisterArg{rng: uffdioRange{r.base(), uint64(size)}, mode: uffdioRegisterModeWP}
	if err := ioctl(r.uffd, uffdioAPI, unsafe.Pointer(&api)); err != nil {
		return nil, errors.Join(fmt.Errorf("sandbox: userfaultfd features: %w", err), r.close())
	}
	if err := ioctl(r.uffd, uffdioRegister, unsafe.Pointer(&reg)); err != nil {
		return nil, errors.Join(fmt.Errorf("sandbox: registering tracked memory: %w", err), r.close())
	}
	if err := r.protect(0, uint64(size)); err != nil {
		return nil, errors.Join(err, r.close())
	}
	return r, nil
}

// protect write-protects [off, off+n) of r, so that the next write to any
// of its pages is reported.
func (r *trackedRegion) protect(off, n uint64) error {
	wp := uffdioWriteProtectArg{rng: uffdioRange{r.base() + off, n}, mode: uffdioWriteProtectOn}
	if err := ioctl(r.uffd, uffdioWriteProtect, unsafe.Pointer(&wp)); err != nil {
		return fmt.Errorf("sandbox: write-protecting tracked memory: %w", err)
	}
	return nil
}

// written appends to out the ranges of r's first size bytes written since
// they were last protected, as addresses.
func (t *dirtyTracker) written(r *trackedRegion, size uint64, out []pageRegion) ([]pageRegion, error) {
	vec := r.vec
	start, end := r.base(), r.base()+size
	for start < end {
		arg := pmScanArg{size: uint64(unsafe.Sizeof(pmScanArg{})), flags: pmScanCheckWPAsync, start: start, end: end,
			vec: uint64(uintptr(unsafe.Pointer(&vec[0]))), vecLen: uint64(len(vec)),
			categoryMask: pageIsWritten, returnMask: pageIsWritten}
		n, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(t.pagemap), pagemapScan, uintptr(unsafe.Pointer(&arg)))
		if errno != 0 {
			return out, fmt.Errorf("sandbox: scanning for written pages: %w", errno)
		}
		out = append(out, vec[:n]...)
		if arg.walkEnd <= start {
			return out, errors.New("sandbox: scanning for written pages made no progress")
		}
		start = arg.walkEnd
	}
	return out, nil
}

func (r *trackedRegion) close() error {
	return errors.Join(unix.Close(r.uffd), unmapMemory(r.buf))
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}
