package build_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
)

// compilerBomb is the source of the finding: 30 levels of doubling string
// constants, a 2 GiB constant the compiler tries to build in memory (it
// used 3.4–5.9 GB unlimited).
func compilerBomb() map[string][]byte {
	var src strings.Builder
	src.WriteString("package main\n\nconst a0 = \"xx\"\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&src, "const a%d = a%d + a%d\n", i, i-1, i-1)
	}
	src.WriteString("\nvar X = a30\n\nfunc main() { println(len(X)) }\n")
	return map[string][]byte{"main.go": []byte(src.String())}
}

// buildUnderLimits builds files with lim and returns the *build.Error it
// must fail with, checking that the test process itself was spared: its
// peak memory barely moved and its own resource limits are unchanged.
func buildUnderLimits(t *testing.T, lim build.Limits, files map[string][]byte) *build.Error {
	t.Helper()
	b := newBuilder(t)
	b.Limits = lim
	before, limitsBefore := peakMemory(t), ownLimits(t)
	_, err := b.Build(context.Background(), files)
	var buildErr *build.Error
	if !errors.As(err, &buildErr) {
		t.Fatalf("err = %v, want a build.Error", err)
	}
	if grown := peakMemory(t) - before; grown > 256<<20 {
		t.Errorf("the test process's peak memory grew by %d MiB", grown>>20)
	}
	if after := ownLimits(t); after != limitsBefore {
		t.Errorf("the test process's limits changed: %v, then %v", limitsBefore, after)
	}
	return buildErr
}

func TestCompilerBombHitsTheMemoryLimit(t *testing.T) {
	err := buildUnderLimits(t, build.Limits{MemoryBytes: 1 << 30}, compilerBomb())
	if err.Limit != build.LimitMemory || !strings.Contains(err.Output, "memory limit of a build (1 GiB per process)") {
		t.Fatalf("limit %q, output:\n%s", err.Limit, err.Output)
	}
}

func TestCompilerBombHitsTheCPUTimeLimit(t *testing.T) {
	// Memory enough for the bomb to run for seconds, so the CPU limit is
	// what ends it.
	err := buildUnderLimits(t, build.Limits{MemoryBytes: 4 << 30, CPUTime: time.Second}, compilerBomb())
	if err.Limit != build.LimitCPUTime || !strings.Contains(err.Output, "CPU time limit of a build (1s per process)") {
		t.Fatalf("limit %q, output:\n%s", err.Limit, err.Output)
	}
}

func TestHugeObjectFileHitsTheFileSizeLimit(t *testing.T) {
	// A 24 MiB object file. The comment is new on every run so the compile
	// is never a hit in the developer's GOCACHE.
	src := "package main\n\n// " + rand.Text() + "\nvar X = [24 << 20]byte{24<<20 - 1: 1}\n\nfunc main() { println(X[len(X)-1]) }\n"
	err := buildUnderLimits(t, build.Limits{FileBytes: 16 << 20}, map[string][]byte{"main.go": []byte(src)})
	if err.Limit != build.LimitFileSize || !strings.Contains(err.Output, "file size limit of a build (16 MiB per process)") {
		t.Fatalf("limit %q, output:\n%s", err.Limit, err.Output)
	}
}

// peakMemory is the test process's peak resident set (VmHWM), in bytes.
func peakMemory(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// ownLimits is the test process's limits of the kinds builds get.
func ownLimits(t *testing.T) [3]syscall.Rlimit {
	t.Helper()
	var lims [3]syscall.Rlimit
	for i, r := range []int{syscall.RLIMIT_DATA, syscall.RLIMIT_CPU, syscall.RLIMIT_FSIZE} {
		if err := syscall.Getrlimit(r, &lims[i]); err != nil {
			t.Fatal(err)
		}
	}
	return lims
}
