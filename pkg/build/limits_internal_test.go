package build

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childrenOf is what refuses a build whose go command started a process
// before its limits were set: it must see a child of any thread.
func TestChildrenOfSeesAStartedProcess(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	kids, err := childrenOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+kids+" ", " "+strconv.Itoa(cmd.Process.Pid)+" ") {
		t.Fatalf("children %q do not include %d", kids, cmd.Process.Pid)
	}
}

func TestLimitDefaults(t *testing.T) {
	l := Limits{CPUTime: 1500 * time.Millisecond}.withDefaults()
	if l.MemoryBytes != DefaultMemoryBytes || l.FileBytes != DefaultFileBytes || l.cpuSeconds() != 2 {
		t.Fatalf("%+v, %d s", l, l.cpuSeconds())
	}
	if got := (Limits{}).withDefaults().cpuSeconds(); got != 60 {
		t.Fatalf("default CPU seconds %d", got)
	}
}

func TestCrossedNamesOnlyTheLimitMet(t *testing.T) {
	l := Limits{}.withDefaults()
	for output, want := range map[string]string{
		"fatal error: out of memory allocating heap arena metadata\n\nruntime stack:\n":         LimitMemory,
		"compile: writing output: write $WORK/b001/_pkg_.a: file too large\n":                   LimitFileSize,
		"./main.go:3:9: undefined: fileTooLarge // file too large\n":                            "",
		"runtime: /usr/local/go/pkg/tool/linux_amd64/compile: signal: killed\n":                 "", // too little CPU used
		"./main.go:3:2: \"fatal error: out of memory\" (untyped string constant) is not used\n": "",
	} {
		got := ""
		if err := l.crossed(output, time.Second, false); err != nil {
			got = err.Limit
		}
		if got != want {
			t.Errorf("%q: limit %q, want %q", output, got, want)
		}
	}
	// The go command itself killed at its CPU limit prints nothing.
	if err := l.crossed("", DefaultCPUTime, true); err == nil || err.Limit != LimitCPUTime {
		t.Errorf("the go command killed at its CPU limit: %v", err)
	}
	if err := l.crossed("", time.Second, true); err != nil {
		t.Errorf("killed well below the CPU limit (the timeout's kill) is no CPU limit: %v", err)
	}
	if err := l.crossed("compile: signal: killed\n", DefaultCPUTime, false); err == nil || err.Limit != LimitCPUTime {
		t.Errorf("a process killed after its CPU limit: %v", err)
	}
}
