package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// runKiln runs a command in-process with its own data dir.
func runKiln(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	dataDir := t.TempDir()
	env := &environment{stdout: &out, stderr: &errOut, getenv: func(name string) string {
		if name == "KILN_DATA_DIR" {
			return dataDir
		}
		return ""
	}}
	status = dispatch(env, args)
	return status, out.String(), errOut.String()
}

func fixture(name string) string {
	return filepath.Join(testmodules.Root(), "sandbox", "testdata", "wat", name+".wasm")
}

func echoModule() string { return filepath.Join(testmodules.Root(), "toolkits", "wat", "echo.wasm") }

func TestRunExitStatuses(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		stdout string // the tool's result document
		stderr string // what stopped the call, for a terminal
	}{
		{"ok", []string{"run", echoModule(), "--args", `{"a":1}`}, 0, `"args":{"a":1}`, "outcome=ok"},
		{"flags before the module", []string{"run", "--tool", "echo", echoModule()}, 0, `"calls":1`, ""},
		{"tool error", []string{"run", fixture("plainfail")}, 1, "no such city", "outcome=tool_error"},
		{"unknown tool", []string{"run", echoModule(), "--tool", "nope"}, 2, "", "tools: echo"},
		{"arguments not an object", []string{"run", echoModule(), "--args", `[]`}, 2, "", "JSON object"},
		{"unknown flag", []string{"run", echoModule(), "--gas", "1"}, 2, "", ""},
		{"zero fuel", []string{"run", echoModule(), "--fuel", "0"}, 2, "", ""},
		{"fuel exhausted", []string{"run", fixture("spin"), "--fuel", "1000000"}, 9, "", "compute budget of 1000000 units of fuel (--fuel)"},
		{"bad size", []string{"run", echoModule(), "--memory", "lots"}, 2, "", ""},
		{"missing module", []string{"run"}, 2, "", ""},
		{"module file missing", []string{"run", "/nonexistent.wasm"}, 2, "", ""},
		{"timeout", []string{"run", fixture("spin"), "--timeout", "100ms", "--fuel", "1000000000000000"}, 3, "", "time limit of 100ms (--timeout)"},
		{"memory limit", []string{"run", fixture("grow"), "--memory", "8MiB"}, 4, "", "memory limit of 8 MiB (--memory)"},
		{"trap", []string{"run", fixture("recurse")}, 5, "", "crashed"},
		{"output too large", []string{"run", fixture("flood"), "--output", "64KiB"}, 6, "", "65536 bytes (--output)"},
		{"bad module", []string{"run", fixture("badimport")}, 7, "", ""},
		{"input required", []string{"run", fixture("ask"), "--args", `{"case":1}`}, 10, "", "asked its caller for input (elicit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, stdout, stderr := runKiln(t, tt.args...)
			if status != tt.status {
				t.Fatalf("status = %d, want %d\nstdout: %s\nstderr: %s", status, tt.status, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) || tt.stdout == "" && stdout != "" {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
			if status >= 2 && strings.TrimSpace(stderr) == "" {
				t.Error("a failure without a message on stderr")
			}
		})
	}
}

// TestRunChecksArgumentsAgainstTheSchema: arguments the tool's input
// schema refuses are bad usage, named on stderr, and the module never runs.
func TestRunChecksArgumentsAgainstTheSchema(t *testing.T) {
	wasm, err := manifest.Embed(testmodules.WAT(t, "toolkits/wat/echo.wasm"), []byte(`{"abi":1,"tools":[{"name":"echo",
		"description":"d","inputSchema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "echo.wasm")
	if err := os.WriteFile(path, wasm, 0o600); err != nil {
		t.Fatal(err)
	}
	status, stdout, stderr := runKiln(t, "run", path, "--args", `{"city":7}`)
	if status != 2 || stdout != "" || !strings.Contains(stderr, "city") || strings.Contains(stderr, "outcome=") {
		t.Fatalf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	if status, stdout, stderr := runKiln(t, "run", path, "--args", `{"city":"Oslo"}`); status != 0 || !strings.Contains(stdout, "Oslo") {
		t.Fatalf("valid arguments: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "build", "run", "inspect", "embed", "instrument"} {
		status, _, stderr := runKiln(t, cmd, "--help")
		if status != 0 || !strings.Contains(stderr, "Usage: kiln "+cmd) {
			t.Errorf("%s --help: status %d, %q", cmd, status, stderr)
		}
	}
	if status, stdout, _ := runKiln(t, "--help"); status != 0 || !strings.Contains(stdout, "Commands:") {
		t.Errorf("kiln --help: status %d", status)
	}
	if status, _, stderr := runKiln(t, "frobnicate"); status != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: status %d, %q", status, stderr)
	}
}

func TestInspectAndEmbed(t *testing.T) {
	status, stdout, stderr := runKiln(t, "inspect", echoModule())
	if status != 0 {
		t.Fatalf("inspect: %d %s", status, stderr)
	}
	var report struct {
		Hash     string
		Plain    bool
		Manifest struct{ Tools []struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Hash) != 64 || report.Plain || report.Manifest.Tools[0].Name != "echo" {
		t.Fatalf("report = %+v", report)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"abi":1,"tools":[]}`), 0o644)
	if status, _, stderr := runKiln(t, "embed", fixture("spin"), bad, "-o", filepath.Join(dir, "out.wasm")); status != 1 || !strings.Contains(stderr, "no tools") {
		t.Fatalf("embed of an invalid manifest: %d %s", status, stderr)
	}
	if status, _, stderr := runKiln(t, "inspect", bad); status != 1 || !strings.Contains(stderr, "not a WebAssembly binary") {
		t.Fatalf("inspect of JSON: %d %s", status, stderr)
	}
}

func TestBuildShowsCompilerErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644)
	status, _, stderr := runKiln(t, "build", dir, "-o", filepath.Join(dir, "tool.wasm"))
	if status != 1 || !strings.Contains(stderr, "main.go:3:15: undefined: undefined") {
		t.Fatalf("status %d, stderr:\n%s", status, stderr)
	}
}

// TestServeStartsWithZeroConfigAndStopsOnSIGTERM runs the real binary.
func TestServeStartsWithZeroConfigAndStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kiln")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	work := t.TempDir()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = work // the default data dir, ./kiln-data, lands here
	cmd.Env = []string{"KILN_ADDR=" + addr}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	url := fmt.Sprintf("http://%s/healthz", addr)
	var resp *http.Response
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err = http.Get(url); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("health endpoint never answered: %v\n%s", err, logs.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(work, "kiln-data")); err != nil {
		t.Errorf("default data dir not created: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-ctx.Done():
		t.Fatal("did not stop after SIGTERM")
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no graceful shutdown in the log:\n%s", logs.String())
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	if status, _, stderr := runKiln(t, "serve", "--env", "staging"); status != 2 || !strings.Contains(stderr, `"staging"`) {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if status, _, stderr := runKiln(t, "serve", "--addr", "256.0.0.1:1"); status != 1 || !strings.Contains(stderr, "listening") {
		t.Fatalf("status %d: %s", status, stderr)
	}
}

func TestInstrument(t *testing.T) {
	out := filepath.Join(t.TempDir(), "spin.metered.wasm")
	if status, _, stderr := runKiln(t, "instrument", fixture("spin"), "-o", out); status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	// The sandbox never trusts a module that claims to be metered already:
	// it instruments everything it loads, and refuses the host's names.
	if status, _, stderr := runKiln(t, "run", out); status != 7 || !strings.Contains(stderr, "reserved for the host") {
		t.Fatalf("run of the instrumented module: status %d: %s", status, stderr)
	}
	if status, _, stderr := runKiln(t, "instrument", out, "-o", out+"2"); status != 1 || !strings.Contains(stderr, "reserved for the host") {
		t.Fatalf("instrumenting twice: status %d: %s", status, stderr)
	}
}

// TestRunArgsFromFileAndStdin: --args @FILE and --args - read the arguments
// from a file or stdin, up to a limit.
func TestRunArgsFromFileAndStdin(t *testing.T) {
	file := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(file, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin io.Reader, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		dataDir := t.TempDir()
		env := &environment{stdin: stdin, stdout: &out, stderr: &errOut, getenv: func(name string) string {
			if name == "KILN_DATA_DIR" {
				return dataDir
			}
			return ""
		}}
		return dispatch(env, append([]string{"run", echoModule()}, args...)), out.String(), errOut.String()
	}
	if status, out, errOut := run(nil, "--args", "@"+file); status != 0 || !strings.Contains(out, `"args":{"from":"file"}`) {
		t.Errorf("@file: %d %s %s", status, out, errOut)
	}
	if status, out, errOut := run(strings.NewReader(`{"from":"stdin"}`), "--args", "-"); status != 0 || !strings.Contains(out, `"args":{"from":"stdin"}`) {
		t.Errorf("stdin: %d %s %s", status, out, errOut)
	}
	if status, _, errOut := run(nil, "--args", "@"+file+".missing"); status != 2 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %s", status, errOut)
	}
	huge := io.LimitReader(zeros{}, maxArgsBytes+1)
	if status, _, errOut := run(huge, "--args", "-"); status != 2 || !strings.Contains(errOut, "more than 64 MiB") {
		t.Errorf("too large: %d %s", status, errOut)
	}
}

// zeros reads as an endless run of spaces (valid JSON whitespace, so only
// the size can be wrong).
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestRunPrintsNotifications: `kiln run` prints a module's progress reports
// and log messages (ABI v2) on stderr; log messages past the notification
// limits are printed after the call, so none is lost to a terminal.
func TestRunPrintsNotifications(t *testing.T) {
	status, stdout, stderr := runKiln(t, "run", fixture("notify"), "--args", `{"case":3}`)
	if status != 0 || !strings.Contains(stdout, "done") ||
		!strings.Contains(stderr, "[progress] 5\n") || !strings.Contains(stderr, "[progress] 6\n") || strings.Contains(stderr, "[progress] 4") {
		t.Fatalf("progress: status %d\nstdout %s\nstderr %s", status, stdout, stderr)
	}
	status, _, stderr = runKiln(t, "run", fixture("notify"), "--args", `{"case":2}`)
	if n := strings.Count(stderr, "[info] w: line\n"); status != 0 || n != 5000 {
		t.Fatalf("logs: status %d, %d lines of 5000\n%.300s", status, n, stderr)
	}
}
