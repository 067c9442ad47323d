package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/sandbox"
)

func runBuild(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "build", "DIR -o tool.wasm",
		"Builds the Go tool source in DIR (package main, using the Go toolkit)\ninto a tool module with its manifest embedded. The build is offline: only\nthe standard library and the toolkit are available.")
	cfg.RegisterStorage(fs, env.getenv)
	out := fs.String("o", "", "output file (required)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up on a build that takes longer")
	pos, status, ok := parseExact(env, fs, args, 1)
	if !ok {
		return status
	}
	if *out == "" {
		fmt.Fprintln(env.stderr, "kiln build: -o is required")
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln build:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{CacheDir: cfg.CacheDir()})
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln build:", err)
		return exitFailed
	}
	defer engine.Close(ctx)
	b := &build.GoBuilder{Engine: engine, GoCache: cfg.GoCacheDir(), Timeout: *timeout}
	wasm, err := b.BuildDir(ctx, pos[0])
	var buildErr *build.Error
	switch {
	case errors.As(err, &buildErr):
		fmt.Fprintf(env.stderr, "kiln build: %s does not compile:\n%s\n", pos[0], buildErr.Output)
		return exitFailed
	case err != nil:
		fmt.Fprintln(env.stderr, "kiln build:", err)
		return exitFailed
	}
	if err := os.WriteFile(*out, wasm, 0o644); err != nil {
		fmt.Fprintln(env.stderr, "kiln build:", err)
		return exitFailed
	}
	fmt.Fprintf(env.stderr, "kiln build: wrote %s (%d bytes)\n", *out, len(wasm))
	return exitOK
}
