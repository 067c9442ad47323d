package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/service"
)

// EnvUserPassword names the variable create-user reads the password from:
// passwords never go in flags, where ps and shell history would show them.
const EnvUserPassword = "KILN_USER_PASSWORD"

func runCreateUser(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "create-user", "--customer ID --username NAME [--email ADDR] [--role owner|member]",
		"Creates a local account (username and password, argon2id-hashed) for a user of a\n"+
			"customer, directly in the database. The user signs in with it on the OAuth\n"+
			"login page when an MCP client asks for access to one of the customer's servers.\n"+
			"The password is read from "+EnvUserPassword+" (at least 12 characters).")
	cfg.RegisterStorage(fs, env.getenv)
	customer := fs.String("customer", "", "the customer the user belongs to (required)")
	username := fs.String("username", "", "the login name (required)")
	email := fs.String("email", "", "the user's email address")
	role := fs.String("role", "member", "owner or member")
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	password := env.getenv(EnvUserPassword)
	switch {
	case *customer == "" || strings.TrimSpace(*username) == "":
		fmt.Fprintln(env.stderr, "kiln create-user: --customer and --username are required")
		return exitUsage
	case password == "":
		fmt.Fprintln(env.stderr, "kiln create-user: set the password in", EnvUserPassword)
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln create-user:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := service.OpenStore(ctx, &cfg, logger)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln create-user:", err)
		return exitFailed
	}
	u, err := oauth.CreateLocalAccount(ctx, st, *customer, strings.TrimSpace(*username), *email, password, *role)
	err = errors.Join(err, st.Close())
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln create-user:", err)
		return exitFailed
	}
	fmt.Fprintf(env.stdout, "created user %s (%s) for customer %s\n", u.ID, *username, u.CustomerID)
	return exitOK
}
