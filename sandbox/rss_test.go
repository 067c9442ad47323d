package sandbox_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// highWaterMark measures the growth of the process's peak resident memory
// (VmHWM) from a baseline, after resetting the peak (clear_refs 5).
type highWaterMark struct{ base uint64 }

func startHighWaterMark(t *testing.T) highWaterMark {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS: %v", err)
	}
	return highWaterMark{base: procStatus(t, "VmRSS")}
}

// growth is how far the peak rose above the baseline.
func (h highWaterMark) growth(t *testing.T) uint64 {
	peak := procStatus(t, "VmHWM")
	return peak - min(peak, h.base)
}

// procStatus reads a field of /proc/self/status in bytes.
func procStatus(t *testing.T, field string) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
