package mcphost

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
)

// Why a recorded call cannot be replayed at all (kiln replay words them).
var (
	ErrNoExecution = errors.New("no such execution")
	ErrNoRecording = errors.New("no recording")
	ErrModuleGone  = errors.New("module gone")
	// ErrReplayInput: the recording cannot be used as it is (a layout of
	// another version, a value sealed under another master key or bound
	// to another server); the operator's problem, not the host's.
	ErrReplayInput = errors.New("recording unusable")
)

// ReplayConfig is what replaying a recorded call needs.
type ReplayConfig struct {
	Store  *store.Store
	Engine *sandbox.Engine
	// Secrets opens the recorded env values (and, with CurrentEnv, the
	// server's stored ones): the box of the node that recorded the call.
	Secrets *secrets.Box
	// CurrentEnv replays with the server's env values as stored now
	// instead of the recorded ones; Env then overrides single values.
	CurrentEnv bool
	Env        map[string]string
	// EnvAssociatedData: as Config's (default secrets.EnvValueAssociatedData).
	EnvAssociatedData func(serverID, name string) []byte
}

// ReplayReport is how a replay went.
type ReplayReport struct {
	Execution store.Execution
	sandbox.Replay
	// Warm: the call was recorded on a warm instance (so replayed on one
	// initialised from the recorded initialisation).
	Warm bool
	// EnvDiffers names the env vars whose replayed value differs from the
	// one the recorded call saw: the likely cause of any divergence.
	EnvDiffers []string
	// Secrets names the call's secret env vars: never in the module, so
	// neither recorded nor needed (the responses are replayed).
	Secrets []string
}

// Exact reports a replay with the recorded env that read what was
// recorded and ended the same way with the same fuel.
func (r ReplayReport) Exact() bool { return r.Replay.Exact() && len(r.EnvDiffers) == 0 }

// Replay re-runs execution id on the module it ran, by hash, feeding it
// what the recording kept, and compares the result and fuel. The errors
// ErrNoExecution, ErrNoRecording and ErrModuleGone say why it could not.
func Replay(ctx context.Context, cfg ReplayConfig, id int64) (ReplayReport, error) {
	exec, err := cfg.Store.Execution(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ReplayReport{}, fmt.Errorf("%w: execution %d is not in the execution log", ErrNoExecution, id)
	} else if err != nil {
		return ReplayReport{}, err
	}
	report := ReplayReport{Execution: exec}
	if exec.Recording == nil {
		return report, fmt.Errorf("%w: execution %d has no recording; its server (%s) was not recording payloads when it ran, or the call never started",
			ErrNoRecording, id, exec.ServerID)
	}
	doc, tape, err := openRecording(cfg.Secrets, exec.ServerID, exec.Recording)
	if err != nil {
		return report, fmt.Errorf("%w: execution %d: %w", ErrReplayInput, id, err)
	}
	wasm, err := cfg.Store.ModuleData(ctx, exec.ModuleHash)
	if errors.Is(err, store.ErrNotFound) {
		return report, fmt.Errorf("%w: module %s, which ran execution %d, is no longer in the store", ErrModuleGone, exec.ModuleHash, id)
	} else if err != nil {
		return report, err
	}
	m, err := cfg.Engine.Load(ctx, wasm)
	if err != nil {
		return report, fmt.Errorf("mcphost: loading module %s: %w", exec.ModuleHash, err)
	}
	// Compiled code, as in production: the same fuel as the interpreter,
	// but a replay of a slow call would otherwise meet its time limit.
	if err := cfg.Engine.WaitCompiled(ctx, m); err != nil {
		return report, fmt.Errorf("mcphost: compiling module %s: %w", exec.ModuleHash, err)
	}
	env, err := replayEnv(ctx, cfg, exec.ServerID, doc.Env, &report)
	if err != nil {
		return report, err
	}
	report.Warm = tape.Warm
	report.Replay, err = cfg.Engine.Replay(ctx, m, sandbox.Request{Tool: doc.Tool, Args: doc.Args, Env: env, Limits: doc.Limits}, &tape)
	return report, err
}

// replayEnv is the env a replay gives the module: the recorded values, or
// the server's current ones, with the operator's overrides; it notes in
// report which differ from the recorded ones, and the secrets.
func replayEnv(ctx context.Context, cfg ReplayConfig, serverID string, recorded []recordedEnv, report *ReplayReport) (map[string]string, error) {
	was, err := openRecordedEnv(cfg.Secrets, serverID, recorded)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReplayInput, err)
	}
	env := maps.Clone(was)
	if cfg.CurrentEnv {
		if env, err = currentEnv(ctx, cfg, serverID, recorded); err != nil {
			return nil, err
		}
	}
	for name, v := range cfg.Env {
		env[name] = v
	}
	for _, e := range recorded {
		if e.Secret {
			report.Secrets = append(report.Secrets, e.Name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(mergeKeys(was, env))) {
		if old, ok := was[name]; !ok || env[name] != old {
			report.EnvDiffers = append(report.EnvDiffers, name)
		}
	}
	return env, nil
}

// currentEnv opens the server's stored values of the recorded call's
// plain env vars.
func currentEnv(ctx context.Context, cfg ReplayConfig, serverID string, recorded []recordedEnv) (map[string]string, error) {
	stored, err := cfg.Store.EnvValues(ctx, serverID)
	if err != nil {
		return nil, err
	}
	ad := cfg.EnvAssociatedData
	if ad == nil {
		ad = secrets.EnvValueAssociatedData
	}
	env := map[string]string{}
	for _, e := range recorded {
		sealed, ok := stored[e.Name]
		if e.Secret || !ok {
			continue
		}
		plain, err := cfg.Secrets.Open(sealed, ad(serverID, e.Name))
		if err != nil {
			return nil, fmt.Errorf("mcphost: opening env var %s of server %s: %w", e.Name, serverID, err)
		}
		env[e.Name] = string(plain)
	}
	return env, nil
}

// mergeKeys is the union of two maps' keys.
func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
