package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/secrets"
)

func runRotateKeys(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "rotate-keys", "[flags]",
		"Creates a new OAuth token signing key, sealed with the master key (KILN_MASTER_KEY,\n"+
			"or in development the key file in the data directory), and retires keys superseded\n"+
			"long enough ago that no token they signed is still valid. Running services sign\n"+
			"with the new key within a minute and keep accepting tokens of the previous one\n"+
			"until they expire. kiln serve also rotates on its own every 30 days.")
	cfg.RegisterStorage(fs, env.getenv)
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln rotate-keys:", err)
		return exitUsage
	}
	mode := secrets.Development
	if cfg.Env == config.Production {
		mode = secrets.Production
	}
	key, _, err := secrets.LoadMasterKey(env.getenv(config.EnvMasterKey), cfg.DataDir, mode)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln rotate-keys:", err)
		return exitUsage
	}
	box, err := secrets.New(key)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln rotate-keys:", err)
		return exitFailed
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, &cfg, logger)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln rotate-keys:", err)
		return exitFailed
	}
	id, err := oauth.RotateKeys(ctx, st, box, time.Now())
	if err = errors.Join(err, st.Close()); err != nil {
		fmt.Fprintln(env.stderr, "kiln rotate-keys:", err)
		return exitFailed
	}
	fmt.Fprintln(env.stdout, "new signing key", id)
	return exitOK
}
