package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

// A Go program without a memory limit lets its heap grow to twice what is
// live before collecting (GOGC=100). Tool calls make Kiln's live heap jump
// (every call's Wasm memory is on it), so a node whose live heap is half
// its container's memory is killed by the kernel at its next collection
// cycle, although collecting sooner would have kept it well within. A soft
// limit near the memory available makes the collector work harder as the
// heap nears it instead. GOMEMLIMIT, when set, is the operator's choice
// and stands.

// setMemoryLimit gives the Go runtime a soft memory limit of percent of
// the memory available to the process, unless one is set already (by
// GOMEMLIMIT) or percent is 0. root is the file system holding /proc and
// /sys/fs/cgroup.
func setMemoryLimit(root fs.FS, percent int, log *slog.Logger) {
	if percent == 0 {
		return
	}
	if current := debug.SetMemoryLimit(-1); current != math.MaxInt64 {
		log.Info("memory limit set by GOMEMLIMIT", "bytes", current)
		return
	}
	avail, from, err := availableMemory(root)
	if err != nil {
		log.Warn("no memory limit set: the memory available is unknown", "error", err)
		return
	}
	p := uint64(percent)
	limit := int64(min(avail/100*p+avail%100*p/100, math.MaxInt64)) // avail*p/100 without overflow
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "bytes", limit, "percent", percent, "of", from)
}

// availableMemory is the least of the process's cgroup limits (v1 or v2,
// its own and its ancestors') and the machine's memory, and says which.
func availableMemory(root fs.FS) (uint64, string, error) {
	total, err := memTotal(root)
	if err != nil {
		return 0, "", err
	}
	if limit, ok := cgroupLimit(root); ok && limit < total {
		return limit, "the cgroup's limit", nil
	}
	return total, "the machine's memory", nil
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal(root fs.FS) (uint64, error) {
	data, err := fs.ReadFile(root, "proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("reading the machine's memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil || kb == 0 || kb > math.MaxUint64/1024 {
				return 0, fmt.Errorf("/proc/meminfo has MemTotal %q", f[1])
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("/proc/meminfo has no MemTotal in kB")
}

// cgroupLimit is the least memory limit of the process's cgroup and its
// ancestors, as /proc/self/cgroup names them (v2: "0::/path"; v1: a line
// whose controllers include memory). Inside a container with its own
// cgroup namespace the path is "/", the container's own cgroup.
func cgroupLimit(root fs.FS) (uint64, bool) {
	data, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	least, found := uint64(math.MaxUint64), false
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		dir, file := "sys/fs/cgroup", "memory.max" // v2
		if parts[0] != "0" {
			if !strings.Contains(","+parts[1]+",", ",memory,") {
				continue
			}
			dir, file = "sys/fs/cgroup/memory", "memory.limit_in_bytes"
		}
		for p := path.Clean("/" + parts[2]); ; p = path.Dir(p) {
			if v, ok := readLimit(root, path.Join(dir, p, file)); ok && v < least {
				least, found = v, true
			}
			if p == "/" {
				break
			}
		}
	}
	return least, found
}

// readLimit reads a cgroup limit file: a number of bytes, or "max" (v2) for
// none. v1 writes a huge number for none, which the machine's memory
// undercuts.
func readLimit(root fs.FS, name string) (uint64, bool) {
	data, err := fs.ReadFile(root, name)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return v, err == nil && v > 0
}
