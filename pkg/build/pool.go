package build

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	toolkit "github.com/kilnhq/kiln/toolkits/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// builderRecipe names how GoBuilder turns source into a module (its go.mod
// layout, flags and manifest embedding). It is part of every source key:
// change it whenever gobuild.go changes its output for the same source, so
// stored artifacts built the old way are not mistaken for new ones.
const builderRecipe = "kiln-gobuild-1"

// DefaultCacheBytes bounds the memory the Pool's cache of finished
// artifacts may hold (a Go tool module is ~3 MB).
const DefaultCacheBytes = 128 << 20

// Artifact is a built tool module.
type Artifact struct {
	// Wasm is the module with its manifest embedded. Each caller gets its
	// own copy.
	Wasm []byte
	// Hash is the hex SHA-256 of Wasm: the module's content address.
	Hash string
	// SourceKey is the hex SHA-256 of what the build depends on (the
	// files, the toolkit, the Go toolchain and the builder's recipe): the
	// same key always yields an equivalent module, so it can index a store
	// of finished builds.
	SourceKey string
}

// Pool runs builds with bounded concurrency and builds identical source
// once.
//
// The bound exists because one build is expensive: `go build` runs the
// compiler and linker as separate processes that use several cores and
// hundreds of megabytes, and describing the result compiles a ~3 MB module
// in wazero. Unbounded, a burst of wizard sessions would exhaust CPU and
// memory and make every build hit its timeout (the service Kiln replaces
// fell over this way with its LLM calls). Bounded, excess builds wait in
// line, and a caller that gives up (its ctx ends) leaves the line at once.
// No customer runs more than its share of the workers (PerCustomer), so
// one customer's flood, or builds that hang until their timeout, cannot
// stall another customer's build.
//
// A Pool is safe for concurrent use. Its zero value is not usable: call
// NewPool.
type Pool struct {
	builder     *GoBuilder
	slots       *slots
	perCustomer int
	// compile is builder.Build; tests wrap it to count and time builds.
	compile func(context.Context, map[string][]byte) ([]byte, error)
	// toolkitHash is the hash of the toolkit source builds link against.
	toolkitHash string

	toolchainMu sync.Mutex
	toolchain   string // "go1.26.1", learned on first use

	// onBuild is PoolConfig.OnBuild (stats.go).
	onBuild func(d time.Duration, outcome string)

	mu      sync.Mutex
	flights map[flightKey]*flight // builds under way or waiting
	cache   *artifactCache
}

// flightKey names a build under way. Only one customer's callers share a
// build: a build waits for its customer's share of the workers, and another
// customer asking for the same source must not wait in that line. Finished
// builds are shared by everyone through the cache.
type flightKey struct {
	customer, source string
}

// PoolConfig configures a Pool. Zero values mean the defaults given.
type PoolConfig struct {
	// Builder runs the builds (required).
	Builder *GoBuilder
	// Workers bounds how many builds run at once (default, and what fewer
	// than 1 means: 1).
	Workers int
	// PerCustomer bounds how many builds of one customer run at once, at
	// most Workers (default: half the workers, at least 1).
	PerCustomer int
	// CacheBytes bounds the total size of the finished modules the pool
	// remembers (default DefaultCacheBytes; negative disables the cache:
	// concurrent identical builds are still shared).
	CacheBytes int64
	// OnBuild, when set, is told each compile's duration and outcome
	// (see BuildOutcome), for metrics; builds answered from the cache or
	// shared with another caller are not compiles.
	OnBuild func(d time.Duration, outcome string)
}

// NewPool returns a pool that runs builds with cfg.Builder.
func NewPool(cfg PoolConfig) *Pool {
	workers := max(cfg.Workers, 1)
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	p := &Pool{
		builder:     cfg.Builder,
		compile:     cfg.Builder.Build,
		toolkitHash: hashToolkit(),
		flights:     map[flightKey]*flight{},
		cache:       newArtifactCache(max(cfg.CacheBytes, 0)),
		perCustomer: cfg.PerCustomer,
		onBuild:     cfg.OnBuild,
	}
	if p.perCustomer < 1 {
		p.perCustomer = max(1, workers/2)
	}
	p.slots = newSlots(workers, min(p.perCustomer, workers))
	return p
}

// flight is one build shared by every caller that asked for the same
// source while it ran.
type flight struct {
	done    chan struct{} // closed when art and err are set
	art     Artifact
	err     error
	waiters int                // callers still waiting; guarded by Pool.mu
	cancel  context.CancelFunc // ends the build when the last waiter leaves
}

// Build validates files against policy and, if they pass, returns the
// module built for customer, who runs at most its share of the workers
// (see PerCustomer). The policy is a parameter, not part of the Pool,
// because it comes from the tier of the customer asking: the same Pool
// serves every plan.
//
// Validation runs on every call, before the cache is consulted, so a
// module built for one plan is never handed to a plan that may not import
// what it uses. A refused source returns a *ValidationError and compiles
// nothing. Compile failures are *Error, as from GoBuilder.Build.
//
// Identical source (see Artifact.SourceKey) builds once: the same
// customer's callers that ask while it builds share the build, and later
// callers of any customer get the remembered result while it stays in the
// bounded cache. A build keeps running while at least one caller waits for
// it; when ctx ends Build returns ctx's error at once, whether the build
// was waiting for a slot or running.
func (p *Pool) Build(ctx context.Context, customer string, policy Policy, files map[string][]byte) (Artifact, error) {
	ctx, span := startSpan(ctx, spanBuild)
	art, err := p.build(ctx, customer, policy, files)
	endSpan(span, err)
	return art, err
}

// build is Build inside its span; it marks on the span how the answer came
// (from the cache, shared with a build under way, or compiled).
func (p *Pool) build(ctx context.Context, customer string, policy Policy, files map[string][]byte) (Artifact, error) {
	span := trace.SpanFromContext(ctx)
	if problems := Validate(files, policy); len(problems) > 0 {
		return Artifact{}, &ValidationError{Problems: problems}
	}
	source, err := p.sourceKey(ctx, files)
	if err != nil {
		return Artifact{}, err
	}
	key := flightKey{customer: customer, source: source}

	p.mu.Lock()
	if art, ok := p.cache.get(source); ok {
		p.mu.Unlock()
		span.SetAttributes(attribute.String("kiln.build.answer", "cached"))
		return art.clone(), nil
	}
	f, ok := p.flights[key]
	if ok {
		f.waiters++
		span.SetAttributes(attribute.String("kiln.build.answer", "shared"))
	} else {
		span.SetAttributes(attribute.String("kiln.build.answer", "compiled"))
		// The build must not die with the caller that happened to start
		// it while others wait for it: it gets its own context (keeping
		// ctx's values) and ends when the last waiter leaves.
		buildCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		p.flights[key] = f
		go p.run(buildCtx, key, cloneFiles(files), f)
	}
	p.mu.Unlock()

	select {
	case <-f.done:
		if f.err != nil {
			return Artifact{}, f.err
		}
		return f.art.clone(), nil
	case <-ctx.Done():
		p.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody wants this build any more: free its slot (or its
			// place in line) and let the next identical request start
			// afresh rather than join a cancelled build.
			f.cancel()
			if p.flights[key] == f {
				delete(p.flights, key)
			}
		}
		p.mu.Unlock()
		return Artifact{}, fmt.Errorf("build: gave up waiting for the build: %w", ctx.Err())
	}
}

// run waits for a slot, builds and publishes the result of f.
func (p *Pool) run(ctx context.Context, key flightKey, files map[string][]byte, f *flight) {
	art, err := p.buildInSlot(ctx, key, files)
	p.mu.Lock()
	if err == nil {
		p.cache.add(key.source, art)
	}
	if p.flights[key] == f {
		delete(p.flights, key)
	}
	f.art, f.err = art, err
	p.mu.Unlock()
	close(f.done)
	f.cancel()
}

func (p *Pool) buildInSlot(ctx context.Context, key flightKey, files map[string][]byte) (Artifact, error) {
	ctx, span := startSpan(ctx, spanCompile)
	wasm, err := p.compileInSlot(ctx, key.customer, files)
	endSpan(span, err)
	if err != nil {
		return Artifact{}, err
	}
	sum := sha256.Sum256(wasm)
	return Artifact{Wasm: wasm, Hash: hex.EncodeToString(sum[:]), SourceKey: key.source}, nil
}

// compileInSlot waits for one of customer's worker slots and compiles.
func (p *Pool) compileInSlot(ctx context.Context, customer string, files map[string][]byte) ([]byte, error) {
	if err := p.slots.acquire(ctx, customer); err != nil {
		return nil, fmt.Errorf("build: waiting for a build slot: %w", err)
	}
	defer p.slots.release(customer)
	trace.SpanFromContext(ctx).AddEvent("slot acquired")
	start := time.Now()
	wasm, err := p.compile(ctx, files)
	p.observeBuild(time.Since(start), err)
	return wasm, err
}

// SourceKey is the Artifact.SourceKey files would build with, without
// building: a caller that stored a build under its key can tell that it is
// current.
func (p *Pool) SourceKey(ctx context.Context, files map[string][]byte) (string, error) {
	return p.sourceKey(ctx, files)
}

// sourceKey hashes everything a build's output depends on. Every part is
// length-prefixed so no two different inputs can hash the same bytes.
func (p *Pool) sourceKey(ctx context.Context, files map[string][]byte) (string, error) {
	toolchain, err := p.toolchainVersion(ctx)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	writeField(h, []byte(builderRecipe))
	writeField(h, []byte(toolchain))
	writeField(h, []byte(p.toolkitHash))
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		writeField(h, []byte(name))
		writeField(h, files[name])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// toolchainVersion asks the builder's go command for its version once. A
// failure is not remembered, so a later call tries again.
func (p *Pool) toolchainVersion(ctx context.Context) (string, error) {
	p.toolchainMu.Lock()
	defer p.toolchainMu.Unlock()
	if p.toolchain != "" {
		return p.toolchain, nil
	}
	goCmd, err := p.builder.goCommand()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOVERSION")
	// Scrubbed like a build: no user config, no switch to another toolchain.
	cmd.Env = []string{"GOENV=off", "GOTOOLCHAIN=local", "GOTELEMETRY=off", "GOFLAGS="}
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build: asking %s for its version: %w", goCmd, err)
	}
	version := strings.TrimSpace(string(out))
	if version == "" {
		return "", fmt.Errorf("build: %s reported no version", goCmd)
	}
	p.toolchain = version
	return version, nil
}

// hashToolkit hashes the toolkit source that every build links against,
// so a toolkit change changes every source key.
func hashToolkit() string {
	h := sha256.New()
	src := toolkit.Source()
	// The embedded FS cannot fail to walk; an error would only make the
	// hash cover less, and the toolchain and recipe still separate builds.
	_ = fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		writeField(h, []byte(path))
		writeField(h, data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, data []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(data)))
	h.Write(n[:])
	h.Write(data)
}

// cloneFiles copies the source so the build does not share memory with a
// caller that may have returned (cancelled) and reused its buffers.
func cloneFiles(files map[string][]byte) map[string][]byte {
	c := make(map[string][]byte, len(files))
	for name, data := range files {
		c[name] = slices.Clone(data)
	}
	return c
}

func (a Artifact) clone() Artifact {
	a.Wasm = slices.Clone(a.Wasm)
	return a
}

// artifactCache remembers finished artifacts, least recently used first
// out, within a byte budget. It is guarded by Pool.mu. A persistent,
// shared store of artifacts is a separate concern (pkg/store); this only
// saves rebuilding what this process built recently.
type artifactCache struct {
	maxBytes int64
	bytes    int64
	order    *list.List // of *cacheEntry, most recently used at the front
	entries  map[string]*list.Element
}

type cacheEntry struct {
	key string
	art Artifact
}

func newArtifactCache(maxBytes int64) *artifactCache {
	return &artifactCache{maxBytes: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

func (c *artifactCache) get(key string) (Artifact, bool) {
	e, ok := c.entries[key]
	if !ok {
		return Artifact{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).art, true
}

func (c *artifactCache) add(key string, art Artifact) {
	size := int64(len(art.Wasm))
	if size > c.maxBytes {
		return
	}
	if _, ok := c.entries[key]; ok {
		return
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, art: art})
	c.bytes += size
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		e := oldest.Value.(*cacheEntry)
		c.order.Remove(oldest)
		delete(c.entries, e.key)
		c.bytes -= int64(len(e.art.Wasm))
	}
}
