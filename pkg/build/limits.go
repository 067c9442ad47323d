package build

import (
	"fmt"
	"strings"
	"time"
)

// The compiler is an untrusted workload: 861 bytes of doubling string
// constants make it allocate gigabytes, and a few hundred bytes can make it
// write a huge object file. Every process of a build (the go command and
// the compile, asm and link processes it starts) therefore runs under hard
// resource limits of its own, set with prlimit(2) on the go command right
// after it starts and inherited by everything it starts. Kiln's own limits
// never change.
//
// The limits are per process, not per build: rlimits are what every Linux
// host offers (a cgroup needs a delegated, writable cgroup v2 hierarchy with
// the memory controller, which neither the test machines nor a plain
// container give). `go build -p=1` runs one tool at a time, so a build holds
// at most two limited processes at once: the go command and one tool.
//
// Memory is capped with RLIMIT_DATA, not RLIMIT_AS. Go reserves address
// space it never touches (a go command under RLIMIT_AS of 256 MiB dies at
// start with "failed to reserve page summary memory"), so an address-space
// cap bounds the reservations rather than the memory. Since Linux 4.7
// RLIMIT_DATA counts private writable mappings, which is where the Go heap
// lives once used, so it tracks what the compiler really holds: measured
// (Go 1.26, linux/amd64), a cold build of the toolkit and the standard
// library for wasip1 fails at 256 MiB and passes at 384 MiB (its largest
// process, compiling the runtime, peaks at 228 MB RSS); a warm build of an
// example tool peaks at 70 MB (the linker). The compiler bomb fails at
// 2 GiB with "fatal error: runtime: out of memory" at 1.07 GB RSS, having
// asked for a 1 GiB string. GOMEMLIMIT is set just under the cap so the
// collector works harder before a legitimate build reaches it.

// Default resource limits of each build process.
const (
	// DefaultMemoryBytes is more than five times the heaviest legitimate
	// process measured (compiling the runtime, cold: fails at 256 MiB,
	// passes at 384 MiB), leaving room for large tool sources.
	DefaultMemoryBytes = 2 << 30
	// DefaultCPUTime is fifteen times the most CPU any process of a cold
	// build took (4.1 s, compiling the runtime). The build's Timeout bounds
	// wall time; this bounds the work a multi-threaded compile can do in it.
	DefaultCPUTime = 60 * time.Second
	// DefaultFileBytes bounds every file a build process writes (object
	// files, cache entries, the module). The largest legitimate one
	// measured is 9.4 MB; an uploaded module may be at most 64 MiB, so a
	// larger build output could not be used anyway.
	DefaultFileBytes = 64 << 20
)

// Limits caps each process of a build. A zero field takes its default.
type Limits struct {
	// MemoryBytes is the data memory of each process (RLIMIT_DATA).
	MemoryBytes int64
	// CPUTime is the CPU time of each process (RLIMIT_CPU, whole seconds,
	// rounded up); the kernel kills a process that reaches it.
	CPUTime time.Duration
	// FileBytes is the largest file a process may write (RLIMIT_FSIZE).
	FileBytes int64
}

// Names of the limits, as Error.Limit reports them.
const (
	LimitMemory   = "memory"
	LimitCPUTime  = "CPU time"
	LimitFileSize = "file size"
)

func (l Limits) withDefaults() Limits {
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = DefaultMemoryBytes
	}
	if l.CPUTime <= 0 {
		l.CPUTime = DefaultCPUTime
	}
	if l.FileBytes <= 0 {
		l.FileBytes = DefaultFileBytes
	}
	return l
}

// cpuSeconds is CPUTime as RLIMIT_CPU takes it: whole seconds, at least 1.
func (l Limits) cpuSeconds() uint64 {
	return uint64((l.CPUTime + time.Second - 1) / time.Second)
}

// env is what the Go runtime of every build process should know of the
// limits: a soft memory limit under the hard one, so garbage is collected
// before an allocation fails.
func (l Limits) env() []string {
	return []string{fmt.Sprintf("GOMEMLIMIT=%d", l.MemoryBytes/10*9)}
}

// crossed returns the error for a failed build that ran into a limit,
// judged from what the go command printed, the CPU time its processes used
// and whether the go command itself was killed (it prints nothing then),
// or nil if it met none.
func (l Limits) crossed(output string, cpu time.Duration, goKilled bool) *Error {
	cpuLimit := time.Duration(l.cpuSeconds()) * time.Second
	var limit, value string
	switch {
	case anyLine(output, outOfMemory):
		limit, value = LimitMemory, formatBytes(l.MemoryBytes)
	case anyLine(output, func(line string) bool { return strings.HasSuffix(line, ": file too large") }):
		limit, value = LimitFileSize, formatBytes(l.FileBytes)
	// The kernel kills a process at its CPU limit with SIGKILL; only a
	// build whose processes used that much CPU can have met it.
	case cpu >= cpuLimit && (goKilled || anyLine(output, func(line string) bool { return strings.HasSuffix(line, ": signal: killed") })):
		limit, value = LimitCPUTime, cpuLimit.String()
	default:
		return nil
	}
	return &Error{Limit: limit, Output: fmt.Sprintf(
		"the compiler exceeded the %s limit of a build (%s per process): the source needs too much to compile",
		limit, value)}
}

func formatBytes(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// outOfMemory reports whether line is the Go runtime's throw on a failed
// allocation, which reads differently depending on what it was allocating
// ("runtime: out of memory", "out of memory allocating heap arena
// metadata", "runtime: cannot allocate memory", ...).
func outOfMemory(line string) bool {
	msg, ok := strings.CutPrefix(line, "fatal error: ")
	return ok && (strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate memory"))
}

// anyLine reports whether match holds for a line of output. Matching the
// shape of a tool's whole message, not words anywhere, keeps a compile
// error that quotes the source from passing for a limit.
func anyLine(output string, match func(string) bool) bool {
	for line := range strings.Lines(output) {
		if match(strings.TrimRight(line, "\r\n")) {
			return true
		}
	}
	return false
}
