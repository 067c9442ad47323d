package build

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// apply sets the limits on the go command just started as pid; the compile,
// asm and link processes it starts inherit them. Both the soft and the hard
// value are set, so no build process can raise its own.
//
// The go command starts its first tool only after loading the module and
// its packages, long after prlimit returns; should it ever have started
// one before, that process would run unlimited, so the build is refused
// instead.
func (l Limits) apply(pid int) error {
	for _, r := range []struct {
		resource int
		value    uint64
	}{
		{unix.RLIMIT_DATA, uint64(l.MemoryBytes)},
		{unix.RLIMIT_CPU, l.cpuSeconds()},
		{unix.RLIMIT_FSIZE, uint64(l.FileBytes)},
	} {
		lim := unix.Rlimit{Cur: r.value, Max: r.value}
		if err := unix.Prlimit(pid, r.resource, &lim, nil); err != nil {
			return fmt.Errorf("limiting the go command (resource %d): %w", r.resource, err)
		}
	}
	kids, err := childrenOf(pid)
	if err != nil {
		return fmt.Errorf("checking the go command's processes: %w", err)
	}
	if kids != "" {
		return errors.New("the go command started a process before its limits were set; try again")
	}
	return nil
}

// childrenOf lists the processes pid has started and not yet reaped, from
// the /proc children file of each of its threads.
func childrenOf(pid int) (string, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return "", err
	}
	var kids strings.Builder
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil && !errors.Is(err, os.ErrNotExist) { // a thread may end meanwhile
			return "", err
		}
		kids.Write(data)
	}
	return strings.TrimSpace(kids.String()), nil
}
