package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

var builds testmodules.Builds

// modules is the CacheDir of every engine a test makes without one of its
// own, so each fixture compiles once per test binary.
var modules testmodules.ModuleCache

func TestMain(m *testing.M) { os.Exit(testmodules.LeakCheck(modules.Run(m))) }

func newEngine(t testing.TB, cfg sandbox.Config) *sandbox.Engine {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = modules.Dir(t)
	}
	e, err := sandbox.NewEngine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e
}

// load loads a module and waits for its compiled form, so that tests see
// the engine as it serves a module after its first seconds (warm pools are
// of compiled code); tier_test.go tests the interpreter's window.
func load(t testing.TB, e *sandbox.Engine, wasm []byte) *sandbox.Module {
	t.Helper()
	m, err := e.Load(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WaitCompiled(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func hostile(t testing.TB) []byte { return builds.Go(t, "sandbox/testdata/hostile") }

func wat(t testing.TB, name string) []byte {
	return testmodules.WAT(t, "sandbox/testdata/wat/"+name+".wasm")
}

// limits are the default limits with a deadline far enough away that only
// tests about deadlines (which set their own) ever meet it, even under the
// race detector on busy cores; fuel still bounds a runaway module.
func limits() sandbox.Limits {
	l := sandbox.DefaultLimits()
	l.Timeout = 30 * time.Second
	return l
}

func call(t testing.TB, e *sandbox.Engine, m *sandbox.Module, tool, args string, lim sandbox.Limits) sandbox.Result {
	t.Helper()
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: tool, Args: []byte(args), Limits: lim})
	if err != nil {
		t.Fatalf("Call(%s): %v", tool, err)
	}
	return res
}

func text(r sandbox.Result) string { return r.Answer.Text }

// TestHostileModules runs modules that each misbehave in one way and checks
// the typed outcome, the detail an operator sees (or the tool's own error
// text), and that the host still serves a normal call afterwards. How each
// front end words an outcome is tested with the front end (mcphost's
// TestOutcomeMessages, kiln's TestRunExitStatuses).
func TestHostileModules(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	goMod := load(t, e, hostile(t))
	short := limits()
	short.Timeout = 300 * time.Millisecond
	short.Fuel = 1 << 50 // the deadline, not the fuel, must stop these
	lowFuel := limits()
	lowFuel.Fuel = 5_000_000 // enough for the Go runtime to start (~4.5M)
	lowFuel.Timeout = time.Minute
	big := limits()
	big.Memory = 512 << 20
	big.Timeout = time.Minute // encoding 100 MB of JSON takes a while
	big.Fuel = 1 << 50

	tests := []struct {
		name    string
		module  *sandbox.Module
		tool    string
		args    string
		lim     sandbox.Limits
		outcome sandbox.Outcome
		says    string // in the detail, or the tool error's text
	}{
		{"wat infinite loop", load(t, e, wat(t, "spin")), "main", `{}`, short, sandbox.OutcomeTimeout, "longer than 300ms"},
		{"go infinite loop", goMod, "spin", `{}`, short, sandbox.OutcomeTimeout, "ran longer than"},
		{"wat infinite loop, fuel first", load(t, e, wat(t, "spin")), "main", `{}`, lowFuel, sandbox.OutcomeFuelExhausted, "5000000 units of fuel"},
		{"go infinite loop, fuel first", goMod, "spin", `{}`, lowFuel, sandbox.OutcomeFuelExhausted, "units of fuel"},
		{"wat deep recursion, fuel first", load(t, e, wat(t, "recurse")), "main", `{}`, func() sandbox.Limits { l := limits(); l.Fuel = 1000; return l }(), sandbox.OutcomeFuelExhausted, "fuel"},
		{"loop around a host call, deadline first", load(t, e, wat(t, "logloop")), "logloop", `{}`, short, sandbox.OutcomeTimeout, "ran longer than"},
		{"loop around a host call, fuel first", load(t, e, wat(t, "logloop")), "logloop", `{}`, lowFuel, sandbox.OutcomeFuelExhausted, "fuel"},
		{"wat unbounded memory.grow", load(t, e, wat(t, "grow")), "main", `{}`, limits(), sandbox.OutcomeMemoryLimit, "memory past 67108864 bytes"},
		{"go unbounded allocation", goMod, "alloc", `{"mib":1000}`, limits(), sandbox.OutcomeMemoryLimit, "memory past"},
		{"initial memory above limit", load(t, e, wat(t, "hugememory")), "main", `{}`, limits(), sandbox.OutcomeMemoryLimit, "exceeds the limit"},
		{"wat deep recursion", load(t, e, wat(t, "recurse")), "main", `{}`, limits(), sandbox.OutcomeTrap, "stack overflow"},
		{"go panic", goMod, "crash", `{}`, limits(), sandbox.OutcomeTrap, "assignment to entry in nil map"},
		{"wat 100 MB to stdout", load(t, e, wat(t, "flood")), "main", `{}`, limits(), sandbox.OutcomeOutputTooLarge, "1048576 byte limit"},
		{"go 100 MB result", goMod, "big_result", `{"mib":100}`, big, sandbox.OutcomeOutputTooLarge, "byte limit"},
		{"result outside memory", load(t, e, wat(t, "badptr")), "badptr", `{}`, limits(), sandbox.OutcomeTrap, "outside memory"},
		{"exit without result", load(t, e, wat(t, "noresult")), "noresult", `{}`, limits(), sandbox.OutcomeTrap, "without calling kiln.result"},
		{"tool error", goMod, "fail", `{}`, limits(), sandbox.OutcomeToolError, "the city was not found"},
		{"plain program failing", load(t, e, wat(t, "plainfail")), "main", `{}`, limits(), sandbox.OutcomeToolError, "no such city"},
	}
	echo := load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, e, tt.module, tt.tool, tt.args, tt.lim)
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome = %v (%s), want %v", res.Outcome, res.Detail, tt.outcome)
			}
			if res.Outcome == sandbox.OutcomeToolError && !res.Answer.IsError {
				t.Errorf("tool error not marked isError: %s", res.Answer.Document)
			}
			if res.Outcome.Stopped() && res.Answer.Document != nil {
				t.Errorf("a stopped call has an answer: %s", res.Answer.Document)
			}
			if !strings.Contains(text(res)+res.Detail, tt.says) {
				t.Errorf("message %q (detail %q) does not mention %q", text(res), res.Detail, tt.says)
			}
			if res.Outcome == sandbox.OutcomeMemoryLimit && res.PeakMemory > tt.lim.Memory {
				t.Errorf("peak memory %d passed the limit %d", res.PeakMemory, tt.lim.Memory)
			}
			// The host is unharmed: the next call works.
			if after := call(t, e, echo, "echo", `{"x":1}`, limits()); after.Outcome != sandbox.OutcomeOK {
				t.Fatalf("call after %s: %v %s", tt.name, after.Outcome, after.Detail)
			}
		})
	}
}

func TestTimeoutStopsPromptly(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "spin"))
	lim := limits()
	lim.Timeout = 100 * time.Millisecond
	res := call(t, e, m, "main", `{}`, lim)
	if res.Outcome != sandbox.OutcomeTimeout {
		t.Fatalf("outcome = %v", res.Outcome)
	}
	// Generous, for shared machines: a fuel slice is a few milliseconds.
	if res.Duration > 2*time.Second {
		t.Fatalf("took %v to stop a 100ms call", res.Duration)
	}
	t.Logf("a 100ms deadline stopped the call after %v", res.Duration)
}

func TestCallerCancellationStopsTheModule(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "spin"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res, err := e.Call(ctx, m, sandbox.Request{Tool: "main", Limits: limits()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sandbox.OutcomeCanceled {
		t.Fatalf("outcome = %v (%s), want canceled", res.Outcome, res.Detail)
	}
}

// TestFreshStatePerCall calls tools that count their calls in a global: a
// fresh instance per call means the count is always 1, even when calls run
// at the same time.
func TestFreshStatePerCall(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	modules := map[string]struct {
		m    *sandbox.Module
		tool string
	}{
		"go":  {load(t, e, hostile(t)), "count"},
		"wat": {load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm")), "echo"},
	}
	for name, tc := range modules {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 3 {
						res := call(t, e, tc.m, tc.tool, `{}`, limits())
						var out struct{ Calls int }
						if err := json.Unmarshal(res.Answer.Structured, &out); err != nil {
							t.Errorf("structuredContent %s: %v", res.Answer.Structured, err)
							return
						}
						if out.Calls != 1 {
							t.Errorf("calls = %d: state leaked from an earlier call", out.Calls)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestOnlyDeclaredEnvIsVisible(t *testing.T) {
	t.Setenv("KILN_TEST_HOST_SECRET", "host-only")
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, hostile(t))
	res, err := e.Call(context.Background(), m, sandbox.Request{
		Tool: "getenv", Args: []byte(`{"name":"KILN_TEST_HOST_SECRET"}`),
		Env: map[string]string{"GREETING": "hello"}, Limits: limits(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Value   string
		Environ []string
	}
	if err := json.Unmarshal(res.Answer.Structured, &out); err != nil {
		t.Fatal(err)
	}
	if out.Value != "" {
		t.Errorf("the module read a host variable: %q", out.Value)
	}
	if len(out.Environ) != 1 || out.Environ[0] != "GREETING=hello" {
		t.Errorf("environ = %q, want only GREETING=hello", out.Environ)
	}

	_, err = e.Call(context.Background(), m, sandbox.Request{
		Tool: "getenv", Args: []byte(`{"name":"PATH"}`), Env: map[string]string{"PATH": "/bin"}, Limits: limits(),
	})
	var reqErr *sandbox.RequestError
	if !errors.As(err, &reqErr) || !strings.Contains(err.Error(), "PATH is not declared") {
		t.Fatalf("undeclared env var: err = %v", err)
	}
}

func TestNoFilesystem(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, hostile(t))
	target := filepath.Join(t.TempDir(), "written-by-guest")
	for _, tc := range []struct{ tool, path string }{
		{"read_file", "/etc/passwd"},
		{"read_file", "../../../../etc/hostname"},
		{"list_dir", "/"},
		{"list_dir", "."},
		{"write_file", target},
	} {
		res := call(t, e, m, tc.tool, `{"path":"`+tc.path+`"}`, limits())
		if res.Outcome != sandbox.OutcomeToolError {
			t.Errorf("%s %s: outcome %v, output %q", tc.tool, tc.path, res.Outcome, text(res))
		}
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("the module created %s", target)
	}
}

func TestBadModulesAreRefusedAtLoad(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	echo := testmodules.WAT(t, "toolkits/wat/echo.wasm")
	embed := func(payload string) []byte {
		out, err := manifest.Embed(echo, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name string
		wasm []byte
		says string
	}{
		{"malformed manifest", embed(`{"abi":1,"tools":[{"name":"echo"`), "not a valid manifest"},
		{"manifest for another ABI", embed(`{"abi":3,"tools":[]}`), "abi version 3"},
		{"schema not an object", embed(`{"abi":1,"tools":[{"name":"echo","inputSchema":{"type":"string"}}]}`), `"type": "object"`},
		{"unknown field", embed(`{"abi":1,"tools":[{"name":"echo","inputSchema":{"type":"object"}}],"fs":["/"]}`), `unknown field "fs"`},
		{"imports an unknown host function", wat(t, "badimport"), "env.system"},
		{"kiln imports without a manifest", mustStrip(t, echo), "no kiln.manifest section"},
		{"not wasm", []byte("#!/bin/sh\nrm -rf /\n"), "not a WebAssembly binary"},
		{"truncated", echo[:len(echo)/2], "bad module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Load(context.Background(), tt.wasm)
			var bad *sandbox.BadModuleError
			if !errors.As(err, &bad) {
				t.Fatalf("err = %v, want a BadModuleError", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not mention %q", err, tt.says)
			}
		})
	}
}

// mustStrip removes the manifest section, leaving the kiln imports.
func mustStrip(t testing.TB, wasm []byte) []byte {
	sections, err := manifest.Sections(wasm)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), wasm[:8]...)
	for _, s := range sections {
		if s.Name != manifest.SectionName {
			out = append(out, wasm[s.Start:s.End]...)
		}
	}
	return out
}

func TestBadRequests(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	zeroTimeout := limits()
	zeroTimeout.Timeout = 0
	for name, tc := range map[string]struct {
		req       sandbox.Request
		arguments bool // the arguments are what is wrong
	}{
		"unknown tool":       {sandbox.Request{Tool: "nope", Limits: limits()}, false},
		"array arguments":    {sandbox.Request{Tool: "echo", Args: []byte(`[1]`), Limits: limits()}, true},
		"null arguments":     {sandbox.Request{Tool: "echo", Args: []byte(`null`), Limits: limits()}, true},
		"broken JSON":        {sandbox.Request{Tool: "echo", Args: []byte(`{"a":`), Limits: limits()}, true},
		"zero timeout":       {sandbox.Request{Tool: "echo", Limits: zeroTimeout}, false},
		"no limits at all":   {sandbox.Request{Tool: "echo"}, false},
		"undeclared env var": {sandbox.Request{Tool: "echo", Env: map[string]string{"HOME": "/root"}, Limits: limits()}, false},
	} {
		_, err := e.Call(context.Background(), m, tc.req)
		var reqErr *sandbox.RequestError
		if !errors.As(err, &reqErr) || reqErr.Arguments != tc.arguments {
			t.Errorf("%s: err = %v (%#v), want a RequestError with Arguments=%v", name, err, reqErr, tc.arguments)
		}
	}
}

// TestArgumentsMatchTheInputSchema: the host checks arguments against the
// tool's input schema before the module starts, and says which field is
// wrong; the module never runs (no fuel is spent).
func TestArgumentsMatchTheInputSchema(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, hostile(t))
	for _, args := range []string{`{"mib":"lots"}`, `{}`} {
		_, err := e.Call(context.Background(), m, sandbox.Request{Tool: "alloc", Args: []byte(args), Limits: limits()})
		var reqErr *sandbox.RequestError
		if !errors.As(err, &reqErr) || !reqErr.Arguments || !strings.Contains(reqErr.Reason, "mib") {
			t.Errorf("alloc %s: err = %v, want an arguments RequestError naming mib", args, err)
		}
	}
	if res := call(t, e, m, "alloc", `{"mib":1}`, limits()); res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("valid arguments: %v %s", res.Outcome, res.Detail)
	}
}

// TestUnresolvableInputSchemaIsABadModule: a schema that cannot be checked
// (a $ref the host will not fetch) makes every call of the tool a
// bad_module outcome, not a call with unchecked arguments.
func TestUnresolvableInputSchemaIsABadModule(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	wasm, err := manifest.Embed(testmodules.WAT(t, "toolkits/wat/echo.wasm"), []byte(`{"abi":1,"tools":[{"name":"echo",
		"description":"d","inputSchema":{"type":"object","properties":{"x":{"$ref":"https://example.com/x.json"}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m := load(t, e, wasm)
	res := call(t, e, m, "echo", `{"x":1}`, limits())
	if res.Outcome != sandbox.OutcomeBadModule || !strings.Contains(res.Detail, "does not resolve") || res.FuelUsed != 0 {
		t.Fatalf("outcome %v (%s), fuel %d", res.Outcome, res.Detail, res.FuelUsed)
	}
}

func TestPlainWASIProgramIsToolMain(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "plainjson"))
	if !m.Manifest.Plain || len(m.Manifest.Tools) != 1 || m.Manifest.Tools[0].Name != "main" {
		t.Fatalf("manifest = %+v", m.Manifest)
	}
	res := call(t, e, m, "main", `{"city":"Oslo"}`, limits())
	if res.Outcome != sandbox.OutcomeOK || string(res.Answer.Structured) != `{"city":"Oslo"}` {
		t.Fatalf("result = %v %s", res.Outcome, res.Answer.Structured)
	}
}

func TestLogsAreCapped(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, hostile(t))
	lim := limits()
	lim.LogBytes = 100
	res := call(t, e, m, "crash", `{}`, lim) // a Go panic prints a long trace
	if len(res.Console) > 100 || !res.LogsTruncated {
		t.Fatalf("console is %d bytes, truncated=%v", len(res.Console), res.LogsTruncated)
	}
}

func TestEvictedModulesStillRun(t *testing.T) {
	e := newEngine(t, sandbox.Config{MaxCompiled: 1})
	echo := load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	plain := load(t, e, wat(t, "plainjson"))
	for range 3 {
		if r := call(t, e, echo, "echo", `{}`, limits()); r.Outcome != sandbox.OutcomeOK {
			t.Fatalf("echo: %v %s", r.Outcome, r.Detail)
		}
		if r := call(t, e, plain, "main", `{}`, limits()); r.Outcome != sandbox.OutcomeOK {
			t.Fatalf("plain: %v %s", r.Outcome, r.Detail)
		}
	}
}

func TestLogsReachTheResult(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, testmodules.WAT(t, "toolkits/wat/echo.wasm"))
	res := call(t, e, m, "echo", `{}`, limits())
	if len(res.Logs) != 1 || res.Logs[0] != (sandbox.LogEntry{Level: "info", Message: "echo called"}) {
		t.Fatalf("logs = %+v", res.Logs)
	}
}
