package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service"
)

func runMigrate(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "migrate", "[flags]",
		"Applies the database migrations this binary carries and exits. kiln serve does\n"+
			"the same at start; run this to migrate before a rolling upgrade. Several\n"+
			"processes migrating at once is safe (PostgreSQL: advisory lock).")
	cfg.RegisterStorage(fs, env.getenv)
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln migrate:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(env.stderr, nil))
	st, err := service.OpenStore(ctx, &cfg, logger)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln migrate:", err)
		return exitFailed
	}
	applied, err := st.AppliedMigrations(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln migrate:", err)
		return exitFailed
	}
	for _, m := range applied {
		fmt.Fprintf(env.stdout, "%04d_%s\tapplied %s\n", m.Version, m.Name, m.AppliedAt.Format("2006-01-02 15:04:05Z07:00"))
	}
	return exitOK
}
