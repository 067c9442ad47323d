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
			"SIGTERM or SIGINT drain it: /readyz answers 503 for --drain-delay while requests are\n"+
			"still served, then the listener closes and requests in flight get --shutdown-timeout\n"+
			"to finish; a second signal ends it at once.")
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
	// The first signal starts the drain; a second one, no longer caught,
	// ends the process at once.
	context.AfterFunc(ctx, stop)
	if err := serve(ctx, &cfg, resolved, env.getenv, logger); err != nil {
		fmt.Fprintln(env.stderr, "kiln serve:", err)
		return exitFailed
	}
	return exitOK
}

// serve runs the service until ctx is done, then drains it (drain). The
// whole service is wired by pkg/service, the same wiring tests start.
func serve(ctx context.Context, cfg *config.Config, resolved config.Resolved, getenv func(string) string, logger *slog.Logger) (err error) {
	svc, err := service.New(ctx, service.Options{Config: cfg, Resolved: resolved, Getenv: getenv, Logger: logger})
	if err != nil {
		return err
	}
	// Closed last, after the drain: Close writes the execution log.
	defer func() { err = errors.Join(err, svc.Close(context.WithoutCancel(ctx))) }()
	// Background work outlives the signal: the node keeps following
	// deploys while it drains.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- svc.Run(runCtx) }()
	stopBackground := func() error { stopRun(); return <-runDone }

	ln, err := listen(cfg.Addr, cfg.HTTP, svc.TrustedProxies, logger)
	if err != nil {
		return errors.Join(err, stopBackground())
	}
	srv := newHTTPServer(cfg.HTTP, svc.Handler())
	if cfg.Observe.MetricsAddr != "" {
		msrv, mln, err := metricsServer(cfg.Observe.MetricsAddr, cfg.HTTP, svc.MetricsHandler())
		if err != nil {
			ln.Close()
			return errors.Join(err, stopBackground())
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
		return errors.Join(fmt.Errorf("serving: %w", err), stopBackground())
	case err := <-runDone:
		// Let requests in flight finish before the store and engine close.
		logger.Error("background work stopped; shutting down", "error", err)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Drain.OrDefaults().Timeout)
		defer cancel()
		return errors.Join(errors.New("background work stopped"), err, srv.Shutdown(shutdownCtx))
	case <-ctx.Done():
	}
	return drain(svc, srv, errc, stopBackground, cfg.Drain, logger)
}

// drain stops the node without failing the work it holds. Readiness fails
// first while everything is still served, for d.Delay, so that load
// balancers send new work elsewhere; keep-alive connections are closed
// after their current request, so clients reconnect (elsewhere). Then the
// listener closes and requests in flight (tool calls, builds in the API)
// get d.Timeout to finish; background work stops and the wizard's work in
// flight gets what is left of it. serve's deferred Close then writes the
// execution log and closes the store.
func drain(svc *service.Service, srv *http.Server, errc <-chan error, stopBackground func() error, d config.Drain, logger *slog.Logger) error {
	d = d.OrDefaults()
	start := time.Now()
	svc.Drain()
	srv.SetKeepAlivesEnabled(false)
	logger.Info("draining", "delay", d.Delay, "timeout", d.Timeout)
	delay := time.NewTimer(d.Delay)
	defer delay.Stop()
	select {
	case <-delay.C:
	case err := <-errc:
		return errors.Join(fmt.Errorf("serving: %w", err), stopBackground())
	}
	logger.Info("closing the listener; waiting for requests in flight")
	ctx, cancel := context.WithTimeout(context.Background(), d.Timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		// Past the deadline: cut the rest off (their calls are cancelled
		// and still logged) rather than be killed mid-write.
		return errors.Join(fmt.Errorf("shutting down: requests still running after %v: %w", d.Timeout, err), srv.Close(), stopBackground())
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(fmt.Errorf("serving: %w", err), stopBackground())
	}
	if err := stopBackground(); err != nil {
		return err
	}
	if err := svc.Wait(ctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	logger.Info("stopped", "drain", time.Since(start).Round(time.Millisecond))
	return nil
}
