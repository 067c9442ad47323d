package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Exit statuses of `kiln run`, one per outcome. They are part of the CLI's
// contract: scripts rely on them.
var outcomeStatus = map[sandbox.Outcome]int{
	sandbox.OutcomeOK:             0,
	sandbox.OutcomeToolError:      1,
	sandbox.OutcomeTimeout:        3,
	sandbox.OutcomeMemoryLimit:    4,
	sandbox.OutcomeTrap:           5,
	sandbox.OutcomeOutputTooLarge: 6,
	sandbox.OutcomeBadModule:      7,
	sandbox.OutcomeCanceled:       8,
	sandbox.OutcomeFuelExhausted:  9,
	sandbox.OutcomeInputRequired:  10,
}

const runHelp = `Calls one tool of a module in a fresh sandbox and prints the tool's result
document (an MCP tool result) as JSON on stdout. The module's logs, a summary
(outcome, duration, fuel, peak memory) and, when a limit or a crash stopped
the call, what stopped it go to stderr; such a call prints nothing on stdout.

Exit status:
  0  the tool returned a result
  1  the tool returned an error result (isError)
  2  bad usage (unknown flag, unknown tool, arguments not a JSON object or
     not matching the tool's input schema)
  3  timeout          4  memory limit      5  trap (the module crashed)
  6  output too large 7  bad module        8  canceled (interrupted)
  9  fuel exhausted   10 input required (the tool asked its caller for input)`

// maxArgsBytes bounds arguments read from a file or stdin.
const maxArgsBytes = 64 << 20

// readArgs reads --args: the JSON itself, @FILE, or - for stdin.
func readArgs(env *environment, flag string) ([]byte, error) {
	var (
		r    io.Reader
		from string
	)
	switch {
	case flag == "-":
		r, from = env.stdin, "stdin"
		if r == nil {
			r = strings.NewReader("")
		}
	case strings.HasPrefix(flag, "@"):
		f, err := os.Open(flag[1:])
		if err != nil {
			return nil, fmt.Errorf("--args: %w", err)
		}
		defer f.Close()
		r, from = f, flag[1:]
	default:
		return []byte(flag), nil
	}
	data, err := io.ReadAll(io.LimitReader(r, maxArgsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--args: reading %s: %w", from, err)
	}
	if len(data) > maxArgsBytes {
		return nil, fmt.Errorf("--args: %s holds more than %d MiB of arguments", from, maxArgsBytes>>20)
	}
	return data, nil
}

func runRun(env *environment, args []string) int {
	var cfg config.Config
	fs := newFlagSet(env, "run", "tool.wasm --tool NAME [--args JSON] [flags]", runHelp)
	cfg.RegisterStorage(fs, env.getenv)
	lim := sandbox.DefaultLimits()
	tool := fs.String("tool", "", "tool to call (default: the module's only tool)")
	argsFlag := fs.String("args", "{}", "arguments as a JSON object; @FILE reads them from a file, - from stdin")
	fs.DurationVar(&lim.Timeout, "timeout", lim.Timeout, "wall-clock limit")
	fs.Uint64Var(&lim.Fuel, "fuel", lim.Fuel, "compute limit, in units of about one WebAssembly instruction")
	memory := byteSize(lim.Memory)
	fs.Var(&memory, "memory", "memory limit, such as 64MiB")
	output := byteSize(lim.OutputBytes)
	fs.Var(&output, "output", "result size limit, such as 1MiB")
	var envs, secrets envFlags
	fs.Var(&envs, "var", "NAME=VALUE sets a declared env var of the module (repeatable)")
	fs.Var(&secrets, "secret", "NAME=VALUE gives the module a secret for {{secret.NAME}}, bound to its egress hosts (repeatable)")
	var allowHosts, allowPrivate listFlag
	fs.Var(&allowHosts, "allow-host", "egress rule such as api.example.com or https://*.example.com:8443 (repeatable; default: the module's declared hosts)")
	fs.Var(&allowPrivate, "allow-private", "address range the module may reach despite the SSRF checks, such as 127.0.0.0/8 (repeatable)")
	pos, status, ok := parseExact(env, fs, args, 1)
	if !ok {
		return status
	}
	lim.Memory, lim.OutputBytes = uint64(memory), int(output)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, "kiln run:", err)
		return exitUsage
	}
	argsJSON, err := readArgs(env, *argsFlag)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln run:", err)
		return exitUsage
	}
	wasm, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln run:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{CacheDir: cfg.CacheDir()})
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln run:", err)
		return exitFailed
	}
	defer engine.Close(ctx)
	mod, err := engine.Load(ctx, wasm)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln run:", err)
		var bad *sandbox.BadModuleError
		if errors.As(err, &bad) {
			return outcomeStatus[sandbox.OutcomeBadModule]
		}
		return exitFailed
	}
	if *tool == "" {
		if len(mod.Manifest.Tools) != 1 {
			fmt.Fprintf(env.stderr, "kiln run: the module has %d tools; choose one with --tool (%s)\n", len(mod.Manifest.Tools), toolNames(mod))
			return exitUsage
		}
		*tool = mod.Manifest.Tools[0].Name
	}
	network, err := runNetwork(mod, allowHosts, allowPrivate, secrets.values)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln run:", err)
		return exitUsage
	}
	res, err := engine.Call(ctx, mod, sandbox.Request{Tool: *tool, Args: argsJSON, Env: envs.values, Limits: lim, Network: network,
		Notify: stderrNotifier{env.stderr}})
	if err != nil {
		return callFailed(env, mod, err)
	}
	printResult(env, res, lim)
	return outcomeStatus[res.Outcome]
}

// callFailed reports a call the sandbox did not run: a bad request is bad
// usage (the arguments, named by the schema check, or the tool, with the
// ones there are); anything else is a failure of the host.
func callFailed(env *environment, mod *sandbox.Module, err error) int {
	var reqErr *sandbox.RequestError
	switch {
	case errors.As(err, &reqErr) && reqErr.Arguments:
		fmt.Fprintf(env.stderr, "kiln run: %s\n", reqErr.Reason)
	case errors.As(err, &reqErr):
		fmt.Fprintf(env.stderr, "kiln run: %s (tools: %s)\n", reqErr.Reason, toolNames(mod))
	default:
		fmt.Fprintln(env.stderr, "kiln run:", err)
		return exitFailed
	}
	return exitUsage
}

// printResult words a result for a terminal: the module's logs and console
// output, a one-line summary, what stopped the call (naming the flag that
// sets the limit) on stderr, and the tool's result document on stdout.
func printResult(env *environment, res sandbox.Result, lim sandbox.Limits) {
	for _, l := range res.Logs {
		if l.Live && l.Sent {
			continue // printed while the call ran
		}
		fmt.Fprintf(env.stderr, "[%s] %s%s\n", l.Level, loggerPrefix(l.Logger), l.Message)
	}
	if res.Console != "" {
		fmt.Fprint(env.stderr, res.Console)
		if !strings.HasSuffix(res.Console, "\n") {
			fmt.Fprintln(env.stderr)
		}
	}
	fmt.Fprintf(env.stderr, "kiln run: outcome=%s duration=%v fuel=%d peak_memory=%dKiB", res.Outcome, res.Duration.Round(10_000), res.FuelUsed, res.PeakMemory>>10)
	if res.Detail != "" {
		fmt.Fprintf(env.stderr, " detail=%q", res.Detail)
	}
	fmt.Fprintln(env.stderr)
	if res.Outcome.Stopped() {
		fmt.Fprintln(env.stderr, "kiln run:", stoppedMessage(res, lim))
		return
	}
	var doc bytes.Buffer
	if err := json.Compact(&doc, res.Answer.Document); err != nil {
		doc.Reset()
		doc.Write(res.Answer.Document) // checked by the sandbox; print it as it came
	}
	fmt.Fprintln(env.stdout, doc.String())
}

// stderrNotifier prints a module's progress reports and log messages (ABI
// v2) on stderr as they come, within the call's notification limits; the
// log messages those limits drop are printed with the other logs after the
// call, so a terminal sees them all.
type stderrNotifier struct{ w io.Writer }

func (n stderrNotifier) Progress(p sandbox.Progress) {
	line := fmt.Sprintf("[progress] %g", p.Progress)
	if p.Total > 0 {
		line += fmt.Sprintf("/%g", p.Total)
	}
	if p.Message != "" {
		line += " " + p.Message
	}
	fmt.Fprintln(n.w, line)
}

func (n stderrNotifier) Log(m sandbox.LogMessage) {
	data := string(m.Data)
	var text string
	if json.Unmarshal(m.Data, &text) == nil {
		data = text
	}
	fmt.Fprintf(n.w, "[%s] %s%s\n", m.Level, loggerPrefix(m.Logger), data)
}

func loggerPrefix(logger string) string {
	if logger == "" {
		return ""
	}
	return logger + ": "
}

// stoppedMessage says why the sandbox ended a call, and which flag moves
// the limit it met.
func stoppedMessage(res sandbox.Result, lim sandbox.Limits) string {
	switch res.Outcome {
	case sandbox.OutcomeTimeout:
		return fmt.Sprintf("the tool did not finish within its time limit of %v (--timeout)", lim.Timeout)
	case sandbox.OutcomeFuelExhausted:
		return fmt.Sprintf("the tool used up its compute budget of %d units of fuel (--fuel)", lim.Fuel)
	case sandbox.OutcomeMemoryLimit:
		return fmt.Sprintf("the tool needed more than its memory limit of %s (--memory)", sizeText(lim.Memory))
	case sandbox.OutcomeOutputTooLarge:
		return fmt.Sprintf("the tool's result passed the limit of %d bytes (--output)", lim.OutputBytes)
	case sandbox.OutcomeCanceled:
		return "the call was interrupted"
	case sandbox.OutcomeBadModule:
		return "the module cannot run on this host: " + res.Detail
	case sandbox.OutcomeInputRequired:
		return fmt.Sprintf("the tool asked its caller for input (%s), which kiln run cannot answer: serve it and call it from an MCP client", res.Input[0].Kind)
	}
	return "the tool crashed: " + res.Detail
}

// sizeText writes a byte count in the largest binary unit that divides it,
// as --memory and --output accept it.
func sizeText(n uint64) string {
	for _, u := range byteUnits {
		if u.scale > 1 && u.scale&(u.scale-1) == 0 && n >= u.scale && n%u.scale == 0 {
			return fmt.Sprintf("%d %s", n/u.scale, u.suffix)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

func toolNames(m *sandbox.Module) string {
	var names []string
	for _, t := range m.Manifest.Tools {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

// runNetwork gives the module the network when it declares egress hosts or
// the command line allows some.
func runNetwork(mod *sandbox.Module, allowHosts, allowPrivate []string, secrets map[string]string) (*sandbox.Network, error) {
	hosts := allowHosts
	if len(hosts) == 0 {
		hosts = mod.Manifest.Egress
	}
	if len(hosts) == 0 {
		if len(secrets) > 0 {
			return nil, errors.New("--secret needs egress hosts: the module declares none; add --allow-host")
		}
		return nil, nil
	}
	rules, err := egress.ParseRules(hosts)
	if err != nil {
		return nil, err
	}
	n := &sandbox.Network{Policy: egress.Policy{Allow: rules}}
	for _, p := range allowPrivate {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("--allow-private %q is not an address range such as 127.0.0.0/8", p)
		}
		n.Policy.AllowPrivate = append(n.Policy.AllowPrivate, prefix)
	}
	for name, value := range secrets {
		n.Secrets = append(n.Secrets, egress.Secret{Name: name, Value: value, Hosts: rules})
	}
	return n, nil
}
