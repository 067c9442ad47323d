// Package build turns the Go source of a tool into a tool module: it
// compiles the source to WASI with the Go toolkit, offline, then asks the
// module for its manifest and embeds it in the kiln.manifest section.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	toolkit "github.com/kilnhq/kiln/toolkits/go"

	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// Limits on the source accepted for one tool.
const (
	MaxSourceFiles = 32
	MaxSourceBytes = 1 << 20
)

// GoBuilder compiles Go tool sources. The zero value is not usable; set
// Engine and GoCache at least.
type GoBuilder struct {
	// Engine runs the built module once to read its manifest.
	Engine *sandbox.Engine
	// Go is the go command; empty means "go" from GOROOT or PATH.
	Go string
	// GoCache is the GOCACHE used by every build, kept between builds so the
	// standard library for wasip1 is compiled once.
	GoCache string
	// Timeout bounds one build, compiling and describing (default 2
	// minutes).
	Timeout time.Duration
	// Limits caps every process of a build: the go command and the
	// compiler, assembler and linker it runs. Zero fields take defaults.
	Limits Limits
	// GoCacheBytes bounds GoCache on disk: after every build the least
	// recently used files are removed until it fits. Zero means
	// DefaultGoCacheBytes; less than zero leaves it unbounded. Only a
	// GoCache Kiln created, or found empty, is ever trimmed (gocache.go).
	GoCacheBytes int64

	trimMu sync.Mutex // one trim of GoCache at a time
	// owned says GoCache is Kiln's to trim, decided before the first
	// build writes into it (claimGoCache).
	ownedOnce sync.Once
	owned     bool
	ownedErr  error
}

// Error is a build that failed because of the source: it carries the
// compiler's output with paths relative to the source directory, or, when
// the compiler ran into one of the build's Limits, a sentence naming it.
type Error struct {
	Output string
	// Limit names the limit the build crossed (LimitMemory, LimitCPUTime,
	// LimitFileSize), or is empty.
	Limit string
}

func (e *Error) Error() string { return "build failed:\n" + e.Output }

// DescribeError is a module that compiled but did not answer its describe
// call with a manifest: main does not call kiln.Run, or it fails first
// (a panic in an init function, say). Like Error, it is the source's fault.
type DescribeError struct{ Err error }

func (e *DescribeError) Error() string {
	return "build: the module did not describe itself (does main call kiln.Run?): " + e.Err.Error()
}

func (e *DescribeError) Unwrap() error { return e.Err }

// SourceError is source that was refused before compiling.
type SourceError struct{ Reason string }

func (e *SourceError) Error() string { return "build: " + e.Reason }

// BuildDir builds the Go files of dir (not its subdirectories) into a tool
// module with an embedded manifest.
func (b *GoBuilder) BuildDir(ctx context.Context, dir string) ([]byte, error) {
	files, err := ReadSource(dir)
	if err != nil {
		return nil, err
	}
	return b.Build(ctx, files)
}

// Build builds a tool module from Go files given by name (such as
// "main.go"), all in package main.
func (b *GoBuilder) Build(ctx context.Context, files map[string][]byte) ([]byte, error) {
	if err := checkFiles(files); err != nil {
		return nil, err
	}
	goCmd, err := b.goCommand()
	if err != nil {
		return nil, err
	}
	if b.GoCache == "" {
		return nil, errors.New("build: GoBuilder.GoCache is not set")
	}
	goCache, err := filepath.Abs(b.GoCache)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	work, err := os.MkdirTemp("", "kiln-build-")
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(work)

	toolDir := filepath.Join(work, "tool")
	if err := writeModule(work, toolDir, files); err != nil {
		return nil, fmt.Errorf("build: preparing the build directory: %w", err)
	}
	if err := telemetryOff(filepath.Join(work, ".config")); err != nil {
		return nil, fmt.Errorf("build: preparing the build directory: %w", err)
	}
	// Decide whether Kiln owns the cache before the go command fills it:
	// afterwards a new cache looks like anybody's.
	if b.GoCacheBytes >= 0 {
		b.ownedOnce.Do(func() { b.owned, b.ownedErr = claimGoCache(goCache) })
	}
	if b.ownedErr != nil {
		return nil, fmt.Errorf("build: checking who owns the Go build cache: %w", b.ownedErr)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := filepath.Join(work, "tool.wasm")
	err = b.goBuild(ctx, goCmd, goCache, work, out)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("build: the Go compiler did not finish within %v: %w", timeout, ctx.Err())
	}
	if trimErr := b.trimGoCache(goCache); err == nil && trimErr != nil {
		err = trimErr
	}
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	lim := sandbox.DefaultLimits()
	lim.Timeout = 10 * time.Second
	payload, err := b.Engine.Describe(ctx, wasm, lim)
	if err != nil {
		return nil, &DescribeError{Err: err}
	}
	if _, err := manifest.Parse(payload); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return manifest.Embed(wasm, payload)
}

func (b *GoBuilder) goCommand() (string, error) {
	if b.Go != "" {
		return b.Go, nil
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("build: the go command was not found; install Go 1.24 or later or set its path")
	}
	return p, nil
}

// goBuild runs go build in work/tool, writing the module to out, under the
// builder's limits.
func (b *GoBuilder) goBuild(ctx context.Context, goCmd, goCache, work, out string) error {
	lim := b.Limits.withDefaults()
	// -p=1: one compile or link at a time, so a build holds at most two
	// limited processes (see Limits). -buildmode=c-shared makes a WASI
	// reactor, which the sandbox initialises once and then serves calls
	// from restored snapshots (toolkits/ABI.md section 3.1).
	cmd := exec.CommandContext(ctx, goCmd, "build", "-p=1", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = filepath.Join(work, "tool")
	cmd.Env = append([]string{
		"HOME=" + work, "XDG_CONFIG_HOME=" + filepath.Join(work, ".config"),
		"GOCACHE=" + goCache,
		"GOPATH=" + filepath.Join(work, "gopath"),
		"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0",
		"GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod", "GONOSUMDB=", "GOPRIVATE=",
		"GOTOOLCHAIN=local", "GOWORK=off", "GOENV=off", "GOTELEMETRY=off",
		"TMPDIR=" + work,
	}, lim.env()...)
	// The compiler runs child processes: kill the whole group on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("build: running %s: %w", goCmd, err)
	}
	if err := lim.apply(cmd.Process.Pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return fmt.Errorf("build: %w", err)
	}
	var exit *exec.ExitError
	switch err := cmd.Wait(); {
	case err == nil:
		return nil
	case ctx.Err() != nil || !errors.As(err, &exit):
		return fmt.Errorf("build: running %s: %w", goCmd, err)
	}
	ws, _ := exit.Sys().(syscall.WaitStatus)
	goKilled := ws.Signaled() && ws.Signal() == syscall.SIGKILL
	if limitErr := lim.crossed(output.String(), exit.UserTime()+exit.SystemTime(), goKilled); limitErr != nil {
		return limitErr
	}
	return &Error{Output: cleanOutput(output.String(), work)}
}

// trimGoCache keeps goCache within the builder's bound.
func (b *GoBuilder) trimGoCache(goCache string) error {
	limit := b.GoCacheBytes
	if limit == 0 {
		limit = DefaultGoCacheBytes
	}
	if limit < 0 {
		return nil
	}
	b.trimMu.Lock()
	defer b.trimMu.Unlock()
	if !b.owned {
		return nil
	}
	if err := trimGoCache(goCache, limit); err != nil {
		return fmt.Errorf("build: trimming the Go build cache: %w", err)
	}
	return nil
}

// ReadSource reads the Go files of dir (not its subdirectories, not its
// _test.go files): the source BuildDir builds, for callers that hand it to
// a Pool.
func ReadSource(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &SourceError{Reason: fmt.Sprintf("reading source directory: %v", err)}
	}
	files := map[string][]byte{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, &SourceError{Reason: fmt.Sprintf("reading %s: %v", name, err)}
		}
		files[name] = data
	}
	return files, nil
}

func checkFiles(files map[string][]byte) error {
	if len(files) == 0 {
		return &SourceError{Reason: "no .go files to build"}
	}
	if len(files) > MaxSourceFiles {
		return &SourceError{Reason: fmt.Sprintf("%d files; at most %d are allowed", len(files), MaxSourceFiles)}
	}
	total := 0
	for name, data := range files {
		if name != filepath.Base(name) || !strings.HasSuffix(name, ".go") || strings.HasPrefix(name, ".") {
			return &SourceError{Reason: fmt.Sprintf("file name %q must be a plain name ending in .go", name)}
		}
		total += len(data)
	}
	if total > MaxSourceBytes {
		return &SourceError{Reason: fmt.Sprintf("%d bytes of source; at most %d are allowed", total, MaxSourceBytes)}
	}
	return nil
}

// writeModule lays out the tool module next to a copy of the toolkit it
// depends on, so the build needs no network and no module cache.
func writeModule(work, toolDir string, files map[string][]byte) error {
	kitDir := filepath.Join(work, "toolkit")
	err := fs.WalkDir(toolkit.Source(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(kitDir, path)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(toolkit.Source(), path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(toolDir, 0o755); err != nil {
		return err
	}
	gomod := fmt.Sprintf("module kilntool\n\ngo 1.24\n\nrequire %[1]s v0.0.0\n\nreplace %[1]s => ../toolkit\n", toolkit.ModulePath)
	if err := os.WriteFile(filepath.Join(toolDir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(toolDir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// telemetryOff writes the go command's telemetry mode into configDir as
// "off". Under a fresh HOME the mode is "local", and the go command then
// starts a telemetry sidecar in a session of its own, which escapes the
// kill of the build's process group, may start before the limits are set,
// and outlives the build, writing into its directory. GOTELEMETRY in the
// environment does not change the mode; this file does.
func telemetryOff(configDir string) error {
	dir := filepath.Join(configDir, "go", "telemetry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "mode"), []byte("off\n"), 0o644)
}

// cleanOutput strips the temporary directory from compiler messages so they
// name files as the author knows them.
func cleanOutput(out, work string) string {
	out = strings.ReplaceAll(out, filepath.Join(work, "tool")+string(filepath.Separator), "")
	out = strings.ReplaceAll(out, work+string(filepath.Separator), "")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "# ") { // "# kilntool" package header
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}
