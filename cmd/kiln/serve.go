package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service"
)

func runServe(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "serve", "[flags]",
		"Runs the Kiln service: the user API (/api/v1), the operator API (/api/v1/admin)\n"+
			"and /healthz. It opens the database and applies migrations first.\n\n"+
			"With no configuration it runs in development mode: it listens on 127.0.0.1:8080,\n"+
			"keeps its state in ./kiln-data and generates a master key, an operator token and\n"+
			"a library signing key there (mode 0600), saying so in the log.\n\n"+
			"KILN_ENV=production refuses to start without KILN_MASTER_KEY (base64 of 32 random\n"+
			"bytes), KILN_OPERATOR_TOKEN (at least 32 characters) and an https KILN_PUBLIC_URL.\n"+
			"Secrets are read from the environment only, never from flags.\n\n"+
			"SIGTERM or SIGINT shut it down gracefully.")
	cfg.RegisterServe(fs, env.getenv)
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitUsage
	}
	// Libraries that log on their own (zitadel's op through slog.Default
	// and the standard log package) go through the same handler: one
	// format on stderr.
	logger, restoreLogging := setupLogging(env.stderr, cfg.Observe)
	defer restoreLogging()
	resolved, err := cfg.Resolve(env.getenv, logger)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitUsage
	}
	// Process-wide, so here at the entry point and not in serve (memlimit.go says why).
	setMemoryLimit(os.DirFS("/"), cfg.MemoryLimitPercent, logger)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, &cfg, resolved, env.getenv, logger); err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitFailed
	}
	return exitOK
}

// serve runs the service until ctx is done, then drains requests. The
// whole service is wired by pkg/service, the same wiring tests start.
func serve(ctx context.Context, cfg *config.Config, resolved config.Resolved, getenv func(string) string, logger *slog.Logger) (err error) {
	svc, err := service.New(ctx, service.Options{Config: cfg, Resolved: resolved, Getenv: getenv, Logger: logger})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svc.Close(context.WithoutCancel(ctx))) }()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- svc.Run(runCtx) }()
	defer func() {
		stopRun()
		err = errors.Join(err, <-runDone)
	}()

	ln, err := listen(cfg.Addr, cfg.HTTP, svc.TrustedProxies, logger)
	if err != nil {
		return err
	}
	srv := newHTTPServer(cfg.HTTP, svc.Handler())
	if cfg.Observe.MetricsAddr != "" {
		msrv, mln, err := metricsServer(cfg.Observe.MetricsAddr, cfg.HTTP, svc.MetricsHandler())
		if err != nil {
			ln.Close()
			return err
		}
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics listener stopped", "error", err)
			}
		}()
		defer msrv.Close()
		logger.Info("metrics serving without authentication", "addr", mln.Addr().String())
	}
	logger.Info("kiln serving", "addr", ln.Addr().String(), "public_url", resolved.PublicURL,
		"data_dir", cfg.DataDir, "database", svc.Store.Dialect(), "env", cfg.Env)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case err := <-runDone:
		runDone <- err // for the deferred wait
		// Let requests in flight finish before the store and engine close.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return errors.Join(errors.New("background work stopped"), srv.Shutdown(shutdownCtx))
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
