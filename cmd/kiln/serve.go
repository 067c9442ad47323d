package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kilnhq/kiln/pkg/api"
	"github.com/kilnhq/kiln/pkg/config"
)

func runServe(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "serve", "[flags]",
		"Runs the Kiln service. With no configuration it listens on 127.0.0.1:8080\nand keeps its state in ./kiln-data. SIGTERM or SIGINT shut it down gracefully.")
	cfg.RegisterServe(fs, env.getenv)
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, nil))
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, &cfg, logger); err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitFailed
	}
	return exitOK
}

// serve runs the service until ctx is done, then drains requests.
func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: api.New(logger), ReadHeaderTimeout: 10 * time.Second}
	logger.Info("kiln serving", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "env", cfg.Env)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	logger.Info("stopped")
	return nil
}
