package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/service"
	"github.com/kilnhq/kiln/sandbox"
)

const replayHelp = `Re-runs a recorded tool call from the execution log, on the module that ran
it (by hash), giving it what the recording kept of what it read from the host:
its arguments and env, the clock readings, the random bytes and the HTTP
responses. No request leaves this machine. It prints whether the result and the
fuel match the recorded ones, and where the replayed call read differently.

A call is recorded when its server records payloads (record_payloads). Secret
env vars never enter a module (the host substitutes them into requests), so
their values are neither recorded nor needed. The plain env values are the
recorded ones, unless --current-env, --var-file or --var says otherwise; the
report names every value that differs from the recorded one. --var puts the
value on the command line (visible to ps, kept in shell history); --var-file
PATH reads NAME=VALUE lines from a file instead (- for stdin; blank lines and
lines starting with # are skipped), and --var overrides it.

Exit status: 0 for an exact replay; 1 for a replay that diverged, an unknown
execution, one without a recording, a module no longer in the store; 2 for
bad usage.`

func runReplay(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "replay", "EXECUTION_ID [flags]", replayHelp)
	cfg.RegisterStorage(fs, env.getenv)
	current := fs.Bool("current-env", false, "replay with the server's env values as stored now, instead of the recorded ones")
	var vars envFlags
	fs.Var(&vars, "var", "NAME=VALUE replays with this value of a plain env var (repeatable; visible to ps, prefer --var-file)")
	varFile := fs.String("var-file", "", "PATH of NAME=VALUE lines: replays with these values of plain env vars (- for stdin)")
	pos, status, ok := parseExact(env, fs, args, 1)
	if !ok {
		return status
	}
	values, err := replayVars(env, *varFile, vars.values)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln replay:", err)
		return exitUsage
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(env.stderr, "kiln replay: %q is not an execution id (a positive number, as the execution log shows)\n", pos[0])
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln replay:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	report, err := replayExecution(ctx, env, &cfg, mcphost.ReplayConfig{CurrentEnv: *current, Env: values}, id)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln replay:", replayFailure(err))
		return exitFailed
	}
	printReplay(env, report)
	if !report.Exact() {
		fmt.Fprintln(env.stderr, "kiln replay: the replay is not exact:", replayVerdict(report))
		return exitFailed
	}
	return exitOK
}

// replayVars is the env values the operator gives: those of --var-file
// (path, "-" for stdin), overridden by --var's.
func replayVars(env *environment, path string, flags map[string]string) (map[string]string, error) {
	out := map[string]string{}
	if path != "" {
		var r io.Reader = env.stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--var-file: %w", err)
			}
			defer f.Close()
			r = f
		} else if r == nil {
			r = strings.NewReader("")
		}
		if err := readVarLines(r, out); err != nil {
			return nil, fmt.Errorf("--var-file %s: %w", path, err)
		}
	}
	maps.Copy(out, flags)
	return out, nil
}

// readVarLines reads NAME=VALUE lines into out, the way --var takes one;
// blank lines and lines starting with # are skipped.
func readVarLines(r io.Reader, out map[string]string) error {
	lines := bufio.NewScanner(r)
	lines.Buffer(nil, 1<<20)
	for n := 1; lines.Scan(); n++ {
		line := strings.TrimSuffix(lines.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			return fmt.Errorf("line %d is not NAME=VALUE", n)
		}
		out[name] = value
	}
	return lines.Err()
}

// replayExecution opens what the replay needs (store, master key, engine)
// the way kiln serve does, and replays.
func replayExecution(ctx context.Context, env *environment, cfg *config.Config, rc mcphost.ReplayConfig, id int64) (mcphost.ReplayReport, error) {
	mode, dir := secrets.Development, cfg.DataDir
	if cfg.Env == config.Production {
		mode, dir = secrets.Production, ""
	}
	key, _, err := secrets.LoadMasterKey(env.getenv(config.EnvMasterKey), dir, mode)
	if err != nil {
		return mcphost.ReplayReport{}, fmt.Errorf("the master key that sealed the recorded env values: %w", err)
	}
	if rc.Secrets, err = secrets.New(key); err != nil {
		return mcphost.ReplayReport{}, err
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if rc.Store, err = service.OpenStore(ctx, cfg, logger); err != nil {
		return mcphost.ReplayReport{}, err
	}
	defer rc.Store.Close()
	if rc.Engine, err = sandbox.NewEngine(ctx, sandbox.Config{CacheDir: cfg.CacheDir()}); err != nil {
		return mcphost.ReplayReport{}, err
	}
	defer rc.Engine.Close(ctx)
	return mcphost.Replay(ctx, rc, id)
}

// replayFailure words why there was no replay.
func replayFailure(err error) string {
	switch {
	case errors.Is(err, mcphost.ErrNoExecution), errors.Is(err, mcphost.ErrNoRecording), errors.Is(err, mcphost.ErrModuleGone),
		errors.Is(err, mcphost.ErrReplayInput):
		return err.Error()
	}
	return "the call could not be replayed: " + err.Error()
}

// printReplay prints the report on stdout, one fact a line.
func printReplay(env *environment, r mcphost.ReplayReport) {
	w := env.stdout
	e := r.Execution
	where := "a fresh instance"
	if r.Warm {
		where = "a warm instance (its initialisation replayed too)"
	}
	fmt.Fprintf(w, "execution %d: tool %s of server %s, module %s, recorded %s on %s\n",
		e.ID, e.ToolName, e.ServerID, e.ModuleHash, e.StartedAt.Format("2006-01-02 15:04:05Z07:00"), where)
	if r.ResultMatches {
		fmt.Fprintf(w, "result: match (outcome %s)\n", r.Result.Outcome)
	} else {
		fmt.Fprintf(w, "result: DIFFERS (recorded outcome %s, replayed %s %s)\n", e.Outcome, r.Result.Outcome, r.Result.Detail)
	}
	verdict := "match"
	if r.Fuel != r.RecordedFuel {
		verdict = fmt.Sprintf("DIFFERS by %+d", int64(r.Fuel)-int64(r.RecordedFuel))
	}
	fmt.Fprintf(w, "fuel: recorded %d, replayed %d (%s)\n", r.RecordedFuel, r.Fuel, verdict)
	if r.Truncated {
		fmt.Fprintln(w, "recording: TRUNCATED at its size limit; the replay ran past its end on live values and cannot be exact")
	}
	if len(r.EnvDiffers) > 0 {
		fmt.Fprintf(w, "env: replayed with values that differ from the recorded ones: %s\n", strings.Join(r.EnvDiffers, ", "))
	}
	if len(r.Secrets) > 0 {
		fmt.Fprintf(w, "secrets: %s (never in the module; not recorded, not needed: the responses are replayed)\n", strings.Join(r.Secrets, ", "))
	}
	if len(r.Divergences) == 0 {
		fmt.Fprintln(w, "divergences: none")
		return
	}
	fmt.Fprintln(w, "divergences:")
	for _, d := range r.Divergences {
		fmt.Fprintln(w, "  "+d)
	}
}

// replayVerdict is the sentence for an inexact replay.
func replayVerdict(r mcphost.ReplayReport) string {
	var why []string
	if !r.ResultMatches {
		why = append(why, "the result differs")
	}
	if r.Fuel != r.RecordedFuel {
		why = append(why, "the fuel differs")
	}
	if len(r.Divergences) > 0 {
		why = append(why, fmt.Sprintf("the call read from the host differently (%d divergences, the first: %s)", len(r.Divergences), r.Divergences[0]))
	}
	if r.Truncated {
		why = append(why, "the recording was truncated")
	}
	if len(r.EnvDiffers) > 0 {
		why = append(why, "env values differ from the recorded ones ("+strings.Join(r.EnvDiffers, ", ")+")")
	}
	return strings.Join(why, "; ") + "."
}
