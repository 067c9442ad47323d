package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/wizard/eval"
)

const wizardEvalDescription = `Runs the wizard's evaluation tasks (pkg/wizard/eval/tasks.json: JSON APIs
with and without keys, text, CSV, dates, parsing, math) through whole sessions
on the LLM providers of KILN_LLM_PROVIDERS (keys in KILN_LLM_KEY_n), in a
private store under --data-dir, and reports per task and in total: tools built
on the first try and after repair, sample calls passed, rounds, LLM calls,
tokens and seconds. A task's tool that declares a secret (the stock-quote task's
ALPHAVANTAGE_KEY) gets its value from KILN_EVAL_SECRET_<NAME>; without one its
sample call fails. Every generation counts at the provider: a full run is
about 21 proposals and 22+ sources.`

func runWizardEval(env *environment, args []string) int {
	fs := newFlagSet(env, "wizard eval", "[flags]", wizardEvalDescription)
	only := fs.String("tasks", "", "comma-separated task ids to run (default: all)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	dataDir := fs.String("data-dir", "", "where the evaluation keeps its store and caches (default: a new temporary directory)")
	allow := fs.String("egress-allow-private", "", "comma-separated private prefixes sample calls may reach (a local API), e.g. 127.0.0.1/32")
	timeout := fs.Duration("timeout", 15*time.Minute, "bound of one task")
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	tasks, err := pickTasks(*only)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln wizard eval: %v\n", err)
		return exitUsage
	}
	prefixes, err := parsePrefixes(*allow)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln wizard eval: --egress-allow-private: %v\n", err)
		return exitUsage
	}
	if *dataDir == "" {
		if *dataDir, err = os.MkdirTemp("", "kiln-eval-"); err != nil {
			fmt.Fprintf(env.stderr, "kiln wizard eval: %v\n", err)
			return exitFailed
		}
		defer os.RemoveAll(*dataDir)
	}
	ctx := context.Background()
	cache, err := os.UserCacheDir()
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln wizard eval: no cache directory for the Go build cache: %v\n", err)
		return exitFailed
	}
	st, err := eval.OpenStack(ctx, eval.StackOptions{DataDir: *dataDir, GoCache: filepath.Join(cache, "kiln-eval-gocache"),
		Getenv: env.getenv, AllowPrivate: prefixes})
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln wizard eval: %v\n", err)
		return exitUsage
	}
	defer st.Close(ctx)
	cfg := st.Config()
	cfg.TaskTimeout = *timeout
	cfg.Secret = func(name string) string { return env.getenv("KILN_EVAL_SECRET_" + name) }
	cfg.Progress = func(r eval.TaskResult) {
		fmt.Fprintf(env.stderr, "%s: %d/%d tools passed, %d rounds, %.1fs\n", r.ID, r.Passed, r.Tools, r.Rounds, r.Seconds)
	}
	rep, err := eval.Run(ctx, cfg, tasks)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln wizard eval: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(env.stdout, "%s\n", b)
		return exitOK
	}
	if err := rep.Print(env.stdout); err != nil {
		return exitFailed
	}
	return exitOK
}

// pickTasks is every task, or those named (each must exist).
func pickTasks(only string) ([]eval.Task, error) {
	all, err := eval.Tasks()
	if err != nil || strings.TrimSpace(only) == "" {
		return all, err
	}
	byID := map[string]eval.Task{}
	for _, t := range all {
		byID[t.ID] = t
	}
	var out []eval.Task
	for _, id := range strings.Split(only, ",") {
		t, ok := byID[strings.TrimSpace(id)]
		if !ok {
			return nil, fmt.Errorf("--tasks: there is no task %q (see pkg/wizard/eval/tasks.json)", strings.TrimSpace(id))
		}
		out = append(out, t)
	}
	return out, nil
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}
