// Package sandbox runs tool modules: one call, one fresh WebAssembly
// instance, under memory, time and output limits.
//
//	engine, err := sandbox.NewEngine(ctx, sandbox.Config{CacheDir: "kiln-data/cache"})
//	if err != nil { ... }
//	defer engine.Close(ctx)
//	mod, err := engine.Load(ctx, wasm) // validates the module and compiles it once
//	if err != nil { ... }              // a *BadModuleError explains what is wrong
//	res, err := engine.Call(ctx, mod, sandbox.Request{
//		Tool: "word_count", Args: []byte(`{"text":"a b"}`), Limits: sandbox.DefaultLimits(),
//	})
//	// res.Outcome says how the call ended; res.Answer is the module's result
//	// document, res.Usage what the call used. Front ends word it.
//
// The contract between the host and a module is toolkits/ABI.md.
package sandbox

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/kilnhq/kiln/sandbox/fuel"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// Config configures an Engine.
type Config struct {
	// CacheDir holds wazero's on-disk compilation cache, so a module compiled
	// once is loaded quickly by later processes. Empty disables it.
	CacheDir string
	// MaxCacheBytes bounds CacheDir on disk, oldest files evicted first
	// (default DefaultMaxCacheBytes; negative: unbounded).
	MaxCacheBytes int64
	// MaxCompiled is how many compiled modules stay in memory (default 64).
	MaxCompiled int
	// MaxMemory is the largest memory limit any call may ask for (default
	// 1 GiB). Modules are instrumented with their memory maximum capped to it.
	MaxMemory uint64
	// MaxConcurrentCalls bounds the instances running at once, calls and
	// describe runs together (default 4 × GOMAXPROCS).
	MaxConcurrentCalls int
	// MemoryBudget bounds the sum of the memory limits of the instances
	// running at once (default half of the least of GOMEMLIMIT, the
	// cgroup's memory limit and the machine's memory). A call whose limit
	// alone exceeds it is refused with a *RequestError.
	MemoryBudget uint64
	// QueueWait is how long a call that does not fit waits for room before
	// it fails with ErrBusy (default 1s; negative: it does not wait).
	QueueWait time.Duration

	// FreshInstances runs every call on a new instance, as before warm
	// pools existed (for comparison and benchmarks).
	FreshInstances bool
	// WarmPerModule bounds the idle warm instances of one reactor module
	// (default 4); WarmInstances bounds them over all modules (default
	// 256); WarmMemory bounds the memory of idle instances and snapshots
	// together (default a quarter of MemoryBudget). The least recently
	// called modules lose theirs first. A running call's instance counts
	// toward MemoryBudget through the call's admission, so the sandbox
	// holds at most MemoryBudget + WarmMemory of linear memory.
	WarmPerModule int
	WarmInstances int
	WarmMemory    uint64
	// RecycleAfter is how many calls a warm instance serves before it is
	// replaced by a new clone of the snapshot (default 1000), in case
	// state outside memory and globals exists that restore does not know.
	RecycleAfter int
	// CopyRestore restores warm instances by copying their whole memory,
	// even where the kernel can report the pages a call wrote
	// (dirty_linux.go; for comparison and benchmarks).
	CopyRestore bool

	// NoInterpreter makes a module's first load wait for wazero's compiler
	// instead of serving its calls from the interpreter meanwhile (tier.go).
	NoInterpreter bool
	// BackgroundCompiles bounds the compiles running at once (default half
	// of GOMAXPROCS, at least one): each holds a core for seconds.
	BackgroundCompiles int
	// InterpreterTimeFactor multiplies a call's Timeout while its module
	// runs on the interpreter (default DefaultInterpreterTimeFactor; 1
	// keeps the limit as given). The interpreter is many times slower
	// than compiled code, and a call should not fail its time limit for
	// having come before the compile finished; fuel, the same on both
	// tiers, still bounds its work.
	InterpreterTimeFactor int
	// MaxArtifactBytes bounds a compiled module shared through an
	// ArtifactStore (default DefaultMaxArtifactBytes).
	MaxArtifactBytes int64
	// ArtifactLease is how long a node's claim to compile a module for the
	// others lasts (default 2 minutes); ArtifactPoll how often a node that
	// found another's claim looks for its artifact (default 200ms).
	ArtifactLease time.Duration
	ArtifactPoll  time.Duration
}

// maxInterpreted is how many modules keep an interpreter form at once:
// only those whose compile is pending or was just finished.
const maxInterpreted = 16

// maxTableElements caps the elements a module's tables may hold together
// (see fuel.Options). wazero keeps 8 bytes per element, so an instance's
// tables take at most 2 MiB; a Go module with net/http has about 7,000.
const maxTableElements = 1 << 18

// Engine compiles and runs tool modules. It is safe for concurrent use.
type Engine struct {
	// interpreterTime is Config.InterpreterTimeFactor.
	interpreterTime int

	rt    wazero.Runtime
	cache wazero.CompilationCache
	// irt is the interpreter runtime (nil with Config.NoInterpreter).
	irt   wazero.Runtime
	tiers *tiers
	// bgCtx ends when the engine closes: background compiles and the
	// calls in flight follow it.
	bgCtx    context.Context
	bgCancel context.CancelFunc

	native                      nativeDisk
	share                       atomic.Pointer[Sharing]
	maxArtifact                 int64
	artifactLease, artifactPoll time.Duration

	maxPages uint32
	// epoch is when the engine started: guests' monotonic clocks count
	// from it (callState.nanotime).
	epoch      time.Time
	meteredDir string // on-disk cache of instrumented modules; "" for none
	disk       *diskCache
	gate       *gate
	// inspectMemory, set only by tests, sees each instance's memory when it
	// is freed (to prove what never entered it).
	inspectMemory func(memory []byte)
	// onAdmit, set only by tests, is called when a call has been admitted.
	onAdmit func()
	// skipRestore, set only by tests, keeps instances unrestored.
	skipRestore bool

	mu  sync.Mutex
	lru *compiledLRU

	pools    *warmPools     // nil with Config.FreshInstances
	bg       sync.WaitGroup // restores and clones after calls (pool_call.go)
	inflight inflight       // calls running module code, for Close
	// dirty reports the pages a call wrote, for restores; nil when the
	// kernel cannot, with CopyRestore, or without pools.
	dirty *dirtyTracker
}

// NewEngine creates an engine with its own wazero runtime.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.MaxCompiled <= 0 {
		cfg.MaxCompiled = 64
	}
	if cfg.MaxMemory == 0 {
		cfg.MaxMemory = 1 << 30
	}
	if cfg.MaxMemory < pageSize || cfg.MaxMemory > 4<<30 {
		return nil, fmt.Errorf("sandbox: MaxMemory %d must be between 64 KiB and 4 GiB", cfg.MaxMemory)
	}
	if cfg.MaxConcurrentCalls <= 0 {
		cfg.MaxConcurrentCalls = defaultMaxCalls()
	}
	if cfg.MemoryBudget == 0 {
		cfg.MemoryBudget = defaultMemoryBudget()
	}
	if cfg.QueueWait == 0 {
		cfg.QueueWait = time.Second
	}
	pools := newWarmPoolsFor(cfg)
	// No WithCloseOnContextDone: it costs 4-5x on loop-heavy guests. The
	// injected fuel checks stop a call at its deadline instead (meter.go).
	rc := wazero.NewRuntimeConfigCompiler()
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("sandbox: creating cache dir: %w", err)
		}
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("sandbox: opening compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	e := &Engine{
		rt: rt, cache: cache, lru: newCompiledLRU(cfg.MaxCompiled),
		maxPages: uint32(cfg.MaxMemory / pageSize), epoch: time.Now(),
		gate:            newGate(cfg.MaxConcurrentCalls, cfg.MemoryBudget, max(cfg.QueueWait, 0)),
		pools:           pools,
		tiers:           newTiers(cfg.BackgroundCompiles, maxInterpreted),
		interpreterTime: cmp.Or(max(cfg.InterpreterTimeFactor, 0), DefaultInterpreterTimeFactor),
	}
	if pools != nil && !cfg.CopyRestore {
		e.dirty = newDirtyTracker()
	}
	applyShareDefaults(e, cfg)
	e.bgCtx, e.bgCancel = context.WithCancel(context.WithoutCancel(ctx))
	if !cfg.NoInterpreter {
		e.irt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	}
	if cfg.CacheDir != "" {
		if cfg.MaxCacheBytes == 0 {
			cfg.MaxCacheBytes = DefaultMaxCacheBytes
		}
		e.disk = &diskCache{dir: cfg.CacheDir, max: cfg.MaxCacheBytes}
		e.meteredDir = filepath.Join(cfg.CacheDir, fmt.Sprintf("fuel-v%d-%dp-%dt", fuel.Version, e.maxPages, maxTableElements))
		if err := os.MkdirAll(e.meteredDir, 0o700); err != nil {
			return nil, errors.Join(fmt.Errorf("sandbox: creating cache dir: %w", err), e.Close(ctx))
		}
	}
	for _, r := range []wazero.Runtime{rt, e.irt} {
		if r == nil {
			continue
		}
		if err := instantiateImports(ctx, r); err != nil {
			return nil, errors.Join(err, e.Close(ctx))
		}
	}
	return e, nil
}

// instantiateImports gives a runtime what modules import: WASI, kiln and
// the refuel function. Every WASI and kiln function charges fuel
// (hostfuel.go).
func instantiateImports(ctx context.Context, rt wazero.Runtime) error {
	priced := experimental.WithFunctionListenerFactory(ctx, hostPricing{})
	if _, err := wasi_snapshot_preview1.Instantiate(priced, rt); err != nil {
		return fmt.Errorf("sandbox: instantiating WASI: %w", err)
	}
	if err := instantiateHost(priced, rt); err != nil {
		return fmt.Errorf("sandbox: instantiating host functions: %w", err)
	}
	return instantiateRefuel(ctx, rt)
}

// applyShareDefaults sets the artifact sharing settings from cfg.
func applyShareDefaults(e *Engine, cfg Config) {
	e.maxArtifact, e.artifactLease, e.artifactPoll = cfg.MaxArtifactBytes, cfg.ArtifactLease, cfg.ArtifactPoll
	if e.maxArtifact <= 0 {
		e.maxArtifact = DefaultMaxArtifactBytes
	}
	if e.artifactLease <= 0 {
		e.artifactLease = defaultArtifactLease
	}
	if e.artifactPoll <= 0 {
		e.artifactPoll = defaultArtifactPoll
	}
}

// Close releases the runtime and every compiled module. Calls still in
// flight (a server cut off at its shutdown deadline has some) are
// cancelled and waited for, with their instances' restores, before the
// pools and the runtime go: they end as canceled at their next fuel check.
// Later calls fail with ErrClosed.
func (e *Engine) Close(ctx context.Context) error {
	e.bgCancel() // also cancels the calls in flight (inflight.go)
	e.tiers.close()
	e.stopCalls() // before bg.Wait: a call adds its restore to e.bg
	e.bg.Wait()
	var err error
	if e.pools != nil {
		err = e.pools.closeAll(ctx)
	}
	if e.irt != nil {
		err = errors.Join(err, e.irt.Close(ctx))
	}
	err = errors.Join(err, e.rt.Close(ctx), e.dirty.close())
	if e.cache != nil {
		err = errors.Join(err, e.cache.Close(ctx))
	}
	return err
}

// Module is a validated, instrumented tool module, ready to call.
type Module struct {
	// Hash is the hex SHA-256 of the module binary as given to Load: its
	// identity everywhere.
	Hash     string
	Manifest *manifest.Manifest

	wasm []byte // the instrumented binary, kept to recompile after LRU eviction
	// code is the SHA-256 of wasm: the key of its compiled and interpreted
	// forms. The rewrite leaves the manifest out, so a module and the same
	// module before its manifest was embedded (Describe's) share them.
	code     string
	minPages uint32
	inputs   inputSchemas // resolved on first use (args.go)
	// reactor: the module is a reactor (reactor.go); restorable: also one
	// whose whole state is memory and globals, named by globals, so its
	// calls can run on warm instances (pool_call.go).
	reactor, restorable bool
	globals             []string
	// interpretOnly: run on the interpreter, never compile (Describe's
	// one call of a module that is then rebuilt with its manifest).
	interpretOnly bool
}

// BadModuleError explains why a module cannot be loaded.
type BadModuleError struct{ Err error }

func (e *BadModuleError) Error() string { return "bad module: " + e.Err.Error() }
func (e *BadModuleError) Unwrap() error { return e.Err }

func badModule(format string, args ...any) error {
	return &BadModuleError{Err: fmt.Errorf(format, args...)}
}

// Load validates a module binary against the ABI, compiles it (or takes it
// from the caches) and returns a handle for Call.
func (e *Engine) Load(ctx context.Context, wasm []byte) (*Module, error) {
	payload, found, err := manifest.Extract(wasm)
	if err != nil {
		return nil, &BadModuleError{Err: err}
	}
	man := manifest.Plain()
	if found {
		if man, err = manifest.Parse(payload); err != nil {
			return nil, &BadModuleError{Err: err}
		}
	}
	return e.load(ctx, wasm, man, false)
}

// load checks, instruments and compiles a module that offers what man
// says: Load's work, which Describe shares.
func (e *Engine) load(ctx context.Context, wasm []byte, man *manifest.Manifest, interpretOnly bool) (*Module, error) {
	minPages, err := manifest.MemoryMinPages(wasm)
	if err != nil {
		return nil, &BadModuleError{Err: err}
	}
	sum := sha256.Sum256(wasm)
	hash := hex.EncodeToString(sum[:])
	metered, err := e.instrument(instrumentKey(wasm, hash), wasm)
	if err != nil {
		return nil, err
	}
	code := sha256.Sum256(metered)
	m := &Module{Hash: hash, Manifest: man, wasm: metered, code: hex.EncodeToString(code[:]), minPages: minPages, interpretOnly: interpretOnly && e.irt != nil}
	entry, err := e.acquire(ctx, m)
	if err != nil {
		return nil, err
	}
	m.reactor = isReactor(entry.compiled)
	m.globals, m.restorable = fuel.RestorableGlobals(metered)
	m.restorable = m.restorable && m.reactor
	if err := errors.Join(checkShape(entry.compiled, man), e.release(ctx, entry)); err != nil {
		return nil, err
	}
	return m, nil
}

// instrumentKey is the SHA-256 of wasm without its manifest section, or
// hash (the whole binary's) when its sections cannot be read. The rewrite
// leaves the manifest out, so a built module and the same module before
// its manifest was embedded (what Describe ran) share one instrumented form.
func instrumentKey(wasm []byte, hash string) string {
	sections, err := manifest.Sections(wasm)
	if err != nil {
		return hash
	}
	h := sha256.New()
	h.Write(wasm[:8])
	for _, s := range sections {
		if s.ID != 0 || s.Name != manifest.SectionName {
			h.Write(wasm[s.Start:s.End])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// instrument returns the metered form of a module, from the on-disk cache
// keyed by (instrumentKey, instrumenter version, memory cap) when it is
// there, so each module is instrumented once, not per call nor per process.
func (e *Engine) instrument(hash string, wasm []byte) ([]byte, error) {
	var path string
	if e.meteredDir != "" {
		path = filepath.Join(e.meteredDir, hash+".wasm")
		if cached, err := os.ReadFile(path); err == nil {
			e.disk.touch(path)
			return cached, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sandbox: reading instrumented module: %w", err)
		}
	}
	metered, err := fuel.Instrument(wasm, fuel.Options{MaxMemoryPages: e.maxPages, MaxTableElements: maxTableElements})
	if err != nil {
		return nil, &BadModuleError{Err: err}
	}
	if path != "" {
		// Write then rename, so a concurrent reader never sees half a file.
		tmp, err := os.CreateTemp(e.meteredDir, hash+".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("sandbox: caching instrumented module: %w", err)
		}
		_, werr := tmp.Write(metered)
		if err := errors.Join(werr, tmp.Close(), os.Rename(tmp.Name(), path)); err != nil {
			return nil, errors.Join(fmt.Errorf("sandbox: caching instrumented module: %w", err), os.Remove(tmp.Name()))
		}
		// A new module: its compiled code follows into the cache too.
		if err := e.disk.trim(); err != nil {
			return nil, fmt.Errorf("sandbox: trimming the module cache: %w", err)
		}
	}
	return metered, nil
}

// checkShape refuses modules that could never run under the ABI, so that the
// problem surfaces at upload rather than on the first call.
func checkShape(compiled wazero.CompiledModule, man *manifest.Manifest) error {
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok && (man.Plain || !isReactor(compiled)) {
		return badModule("it exports no _start function: a tool module is a WASI command (or a reactor with %s, %s and %s)", reactorStart, reactorInit, reactorCall)
	}
	for _, f := range compiled.ImportedFunctions() {
		module, name, _ := f.Import()
		switch {
		case module == wasi_snapshot_preview1.ModuleName:
		case module == fuel.ImportModule: // added by the instrumenter, which refuses it in input
		case module == HostModule && !man.Plain:
		case module == HostModule:
			return badModule("it imports %s.%s but has no %s section", module, name, manifest.SectionName)
		default:
			return badModule("it imports %s.%s; only %s and %s functions are provided", module, name, wasi_snapshot_preview1.ModuleName, HostModule)
		}
	}
	if len(compiled.ImportedMemories()) > 0 {
		return badModule("it imports a memory; a tool module must define its own")
	}
	return nil
}
