package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"
	"testing/fstest"
)

// meminfo is /proc/meminfo of a machine with 16 GiB.
const meminfo = "MemTotal:       16777216 kB\nMemFree:         1000 kB\n"

func TestAvailableMemory(t *testing.T) {
	const gib = 1 << 30
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  uint64
		from  string
	}{
		{"no cgroup", fstest.MapFS{"proc/meminfo": file(meminfo)}, 16 * gib, "the machine's memory"},
		{"v2 in its own namespace", fstest.MapFS{"proc/meminfo": file(meminfo), "proc/self/cgroup": file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("4294967296\n")}, 4 * gib, "the cgroup's limit"},
		{"v2 unlimited", fstest.MapFS{"proc/meminfo": file(meminfo), "proc/self/cgroup": file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("max\n")}, 16 * gib, "the machine's memory"},
		// The parent's limit is the smaller, and it applies too.
		{"v2 nested", fstest.MapFS{"proc/meminfo": file(meminfo), "proc/self/cgroup": file("0::/kiln.slice/kiln.service\n"),
			"sys/fs/cgroup/kiln.slice/kiln.service/memory.max": file("8589934592\n"),
			"sys/fs/cgroup/kiln.slice/memory.max":              file("2147483648\n")}, 2 * gib, "the cgroup's limit"},
		{"v1", fstest.MapFS{"proc/meminfo": file(meminfo), "proc/self/cgroup": file("5:cpu:/\n4:memory:/docker/abc\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            file("9223372036854771712\n"),
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": file("1073741824\n")}, 1 * gib, "the cgroup's limit"},
		{"v1 unlimited", fstest.MapFS{"proc/meminfo": file(meminfo), "proc/self/cgroup": file("4:memory:/\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n")}, 16 * gib, "the machine's memory"},
	} {
		got, from, err := availableMemory(tc.files)
		if err != nil || got != tc.want || from != tc.from {
			t.Errorf("%s: %d (%s) %v, want %d (%s)", tc.name, got, from, err, tc.want, tc.from)
		}
	}
	for _, bad := range []string{"", "MemTotal: lots kB\n", "MemTotal: 0 kB\n"} {
		if _, _, err := availableMemory(fstest.MapFS{"proc/meminfo": file(bad)}); err == nil {
			t.Errorf("meminfo %q was read", bad)
		}
	}
	if _, _, err := availableMemory(fstest.MapFS{}); err == nil {
		t.Error("no meminfo, and no error")
	}
}

// TestSetMemoryLimit sets the process's limit, to 75% of a machine far
// larger than this one (so nothing in the test process feels it), and
// leaves one set by GOMEMLIMIT alone.
func TestSetMemoryLimit(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set for the tests")
	}
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	debug.SetMemoryLimit(math.MaxInt64)
	huge := fstest.MapFS{"proc/meminfo": &fstest.MapFile{Data: []byte("MemTotal: 4294967296 kB\n")}} // 4 TiB
	log := slog.New(slog.DiscardHandler)

	setMemoryLimit(huge, 0, log)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("0%% set a limit: %d", got)
	}
	setMemoryLimit(huge, 75, log)
	if got, want := debug.SetMemoryLimit(-1), int64(3<<40); got != want {
		t.Fatalf("limit %d, want %d", got, want)
	}
	// As if GOMEMLIMIT had set one: it stands.
	debug.SetMemoryLimit(5 << 40)
	setMemoryLimit(huge, 75, log)
	if got := debug.SetMemoryLimit(-1); got != 5<<40 {
		t.Fatalf("a limit already set was changed to %d", got)
	}
}
