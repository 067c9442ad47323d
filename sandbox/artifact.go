package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
)

// Sharing compiled code between nodes. wazero's compilation cache is a
// directory of files, one per compiled module, named by a hash of the
// module's bytes, wazero's compiler and the CPU's features, and holding a
// header (magic, wazero version), the function offsets, the machine code
// and a CRC-32C of the machine code only. A module compiled on one node is
// such a file; another node with the same wazero, platform and CPU
// features that puts the file in its own cache directory gets the compiled
// module from wazero at the cost of reading it.
//
// wazero's own checks are not enough to trust a file from elsewhere: the
// CRC covers the machine code but not the function offsets, a file it
// cannot parse makes CompileModule fail rather than compile, and the file
// is native code this process will jump into. Whoever can write the
// database must not be able to choose it. So an artifact travels with an
// HMAC-SHA256, under a key every node derives from its master key (which
// the database does not hold), over every field of its key (module hash,
// instrumenter, wazero version, platform, CPU probe), its file name and
// its bytes. A node checks the MAC, in constant time, before the file
// touches its disk or wazero; a file with a bad MAC is ignored (logged and
// counted) and the module compiled here. The MAC binds the name to the
// module: only a node holding the key, which learned the name from
// wazero's own compile of this module (compileScratch), can produce it.
// A file that passes and that wazero still refuses is removed and the
// module compiled here.

// ArtifactKey names a compiled module in a shared store: a module compiled
// by a node with a different key cannot be used by this one.
type ArtifactKey struct {
	ModuleHash    string // SHA-256 of the module as given to Load
	Instrumenter  string // the fuel rewrite's version and caps
	WazeroVersion string
	Platform      string // GOOS/GOARCH
	CPU           string // wazero's cache name of a probe module: its CPU feature key
}

// Artifact is a file of wazero's compilation cache.
type Artifact struct {
	Name string // wazero's name for it: 64 hex digits
	Data []byte
	MAC  string // hex HMAC-SHA256 of the key, Name and Data (artifactMAC)
}

// ArtifactStore keeps compiled modules for every node (pkg/store's table
// compiled_artifacts through pkg/mcphost).
type ArtifactStore interface {
	// LoadArtifact returns the artifact stored under key, or nil. It
	// fails, without reading the data, when the stored one is larger than
	// maxBytes.
	LoadArtifact(ctx context.Context, key ArtifactKey, maxBytes int64) (*Artifact, error)
	// ClaimArtifact reports whether the caller should compile key's module:
	// no artifact is stored and no other node's claim is live. A true
	// answer is a claim for lease.
	ClaimArtifact(ctx context.Context, key ArtifactKey, lease time.Duration) (bool, error)
	// ReleaseArtifact drops a claim that will not be followed by an
	// artifact, so other nodes compile at once rather than wait out the
	// lease. A stored artifact is kept.
	ReleaseArtifact(ctx context.Context, key ArtifactKey) error
	// SaveArtifact stores an artifact, replacing what key had.
	SaveArtifact(ctx context.Context, key ArtifactKey, a Artifact) error
}

// Sharing is how an engine shares compiled modules (ShareArtifacts).
type Sharing struct {
	Store ArtifactStore
	// Key authenticates artifacts: at least ArtifactKeyBytes, the same on
	// every node, and kept out of the store (pkg/mcphost derives it from
	// the master key).
	Key []byte
	// Log gets a line for each artifact refused; nil discards them.
	Log *slog.Logger
}

// Defaults for sharing (Config).
const (
	// DefaultMaxArtifactBytes bounds one stored artifact: a 5 MB Go tool
	// compiles to about 20 MB of wazero cache file.
	DefaultMaxArtifactBytes = 256 << 20
	defaultArtifactLease    = 2 * time.Minute
	defaultArtifactPoll     = 200 * time.Millisecond
	// ArtifactKeyBytes is the least size of Sharing.Key.
	ArtifactKeyBytes = 32
)

var cacheName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ShareArtifacts makes the engine take compiled modules from s.Store
// before it compiles them and give it what it compiles. It needs
// Config.CacheDir (without one it does nothing). pkg/mcphost sets it once
// it has the store.
func (e *Engine) ShareArtifacts(s Sharing) error {
	if s.Store == nil || len(s.Key) < ArtifactKeyBytes {
		return fmt.Errorf("sandbox: sharing compiled modules needs a store and a key of %d bytes or more", ArtifactKeyBytes)
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.Key = bytes.Clone(s.Key)
	if e.disk != nil {
		e.share.Store(&s)
	}
	return nil
}

func (e *Engine) artifactStore() *Sharing { return e.share.Load() }

// artifactMAC authenticates an artifact: every field of its key, its name
// and its bytes, each length-prefixed so no two inputs run together.
func artifactMAC(secret []byte, k ArtifactKey, name string, data []byte) []byte {
	h := hmac.New(sha256.New, secret)
	var n [8]byte
	for _, f := range [][]byte{[]byte("kiln compiled artifact v1"), []byte(k.ModuleHash), []byte(k.Instrumenter),
		[]byte(k.WazeroVersion), []byte(k.Platform), []byte(k.CPU), []byte(name), data} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	return h.Sum(nil)
}

// authentic reports whether a's MAC is the one a node holding secret made
// for it under k, compared in constant time.
func authentic(secret []byte, k ArtifactKey, a Artifact) bool {
	got, err := hex.DecodeString(a.MAC)
	return err == nil && hmac.Equal(got, artifactMAC(secret, k, a.Name, a.Data))
}

// nativeDisk is what the engine knows of wazero's cache directory: its
// subdirectory for this wazero and platform, and the CPU probe, learned
// once by compiling a tiny module in a scratch cache.
type nativeDisk struct {
	once    sync.Once
	err     error
	sub     string // e.g. wazero-v1.12.0-amd64-linux
	version string
	probe   string
}

// probeModule is the smallest module with a function: (module (func)).
var probeModule = []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b}

// learn fills n by compiling the probe in a scratch cache. It runs once
// per process, so it does not follow any caller's context: a cancelled
// request must not turn the native cache off for good.
func (n *nativeDisk) learn(e *Engine) error {
	n.once.Do(func() {
		var name string
		name, _, n.sub, n.err = e.compileScratch(context.Background(), probeModule)
		if n.err != nil {
			return
		}
		n.probe = name
		suffix := "-" + runtime.GOARCH + "-" + runtime.GOOS
		if !strings.HasPrefix(n.sub, "wazero-") || !strings.HasSuffix(n.sub, suffix) {
			n.err = fmt.Errorf("sandbox: unexpected wazero cache directory %q", n.sub)
			return
		}
		n.version = strings.TrimSuffix(strings.TrimPrefix(n.sub, "wazero-"), suffix)
	})
	return n.err
}

// compileScratch compiles wasm in a runtime of its own whose cache is a
// new directory, and returns the one file wazero wrote there: its name, its
// bytes and the subdirectory it is in.
func (e *Engine) compileScratch(ctx context.Context, wasm []byte) (name string, data []byte, sub string, err error) {
	dir, err := os.MkdirTemp(e.disk.dir, scratchPrefix+"*")
	if err != nil {
		return "", nil, "", fmt.Errorf("sandbox: scratch compile: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return "", nil, "", fmt.Errorf("sandbox: scratch compile: %w", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache))
	_, cerr := rt.CompileModule(ctx, wasm)
	if err := errors.Join(rt.Close(ctx), cache.Close(ctx)); err != nil {
		return "", nil, "", fmt.Errorf("sandbox: closing the scratch runtime: %w", err)
	}
	if cerr != nil {
		return "", nil, "", compileError(ctx, cerr)
	}
	subs, err := os.ReadDir(dir)
	if err != nil || len(subs) != 1 {
		return "", nil, "", fmt.Errorf("sandbox: scratch compile left %d directories (%v)", len(subs), err)
	}
	sub = subs[0].Name()
	files, err := os.ReadDir(filepath.Join(dir, sub))
	if err != nil || len(files) != 1 || !cacheName.MatchString(files[0].Name()) {
		return "", nil, "", fmt.Errorf("sandbox: scratch compile left %d files (%v)", len(files), err)
	}
	name = files[0].Name()
	data, err = os.ReadFile(filepath.Join(dir, sub, name))
	if err != nil {
		return "", nil, "", fmt.Errorf("sandbox: reading compiled module: %w", err)
	}
	return name, data, sub, nil
}

// compileError classifies a failed CompileModule: the caller's context
// ending, the host failing (wazero's cache files: disk full, permissions),
// or else the compiler refusing the module (BadModuleError, which keeps
// the module on the interpreter for good). wazero returns os errors from
// its file cache unwrapped.
func compileError(ctx context.Context, err error) error {
	var pathErr *fs.PathError
	var linkErr *os.LinkError
	var sysErr *os.SyscallError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("sandbox: compiling module: %w", ctx.Err())
	case errors.As(err, &pathErr), errors.As(err, &linkErr), errors.As(err, &sysErr):
		return fmt.Errorf("sandbox: compiling module: wazero's cache: %w", err)
	}
	return badModule("it does not compile: %v", err)
}

// ArtifactKey is m's key in a shared store on this node. It needs
// Config.CacheDir.
func (e *Engine) ArtifactKey(_ context.Context, m *Module) (ArtifactKey, error) {
	if e.disk == nil {
		return ArtifactKey{}, errors.New("sandbox: sharing compiled modules needs a cache directory")
	}
	return e.artifactKey(m)
}

// artifactKey is m's key in a shared store.
func (e *Engine) artifactKey(m *Module) (ArtifactKey, error) {
	if err := e.native.learn(e); err != nil {
		return ArtifactKey{}, err
	}
	return ArtifactKey{
		ModuleHash: m.Hash, Instrumenter: filepath.Base(e.meteredDir),
		WazeroVersion: e.native.version, Platform: runtime.GOOS + "/" + runtime.GOARCH, CPU: e.native.probe,
	}, nil
}

// compileShared produces m's compiled form for the LRU, the cheapest way
// it can: from the shared store, else by compiling (once per cluster when
// nodes share a store: a node that finds another's claim waits for its
// artifact). Runs on a background worker (compileLater).
func (e *Engine) compileShared(ctx context.Context, m *Module) (*compiledEntry, error) {
	if e.disk == nil || e.native.learn(e) != nil {
		if err := e.acquireSlot(ctx); err != nil {
			return nil, err
		}
		defer e.releaseSlot()
		e.tiers.count(func(s *TierStats) { s.Compiled++ })
		return e.compileNow(ctx, m)
	}
	share := e.artifactStore()
	key, _ := e.artifactKey(m) // learn succeeded above
	if share != nil {
		entry, forAll := e.fromStore(ctx, share, key, m)
		if entry != nil {
			return entry, nil
		}
		if forAll {
			saved := false
			defer func() {
				if !saved { // others must not wait out the lease for nothing
					e.releaseClaim(share, key)
				}
			}()
			entry, a, err := e.compileHere(ctx, m)
			if err == nil {
				saved = e.saveArtifact(ctx, share, key, a)
			}
			return entry, err
		}
	}
	entry, _, err := e.compileHere(ctx, m)
	return entry, err
}

// compileHere compiles m on a slot, installs the file wazero made in the
// engine's cache and loads it from there.
func (e *Engine) compileHere(ctx context.Context, m *Module) (*compiledEntry, Artifact, error) {
	if err := e.acquireSlot(ctx); err != nil {
		return nil, Artifact{}, err
	}
	name, data, _, err := e.compileScratch(ctx, m.wasm)
	e.releaseSlot()
	if err != nil {
		return nil, Artifact{}, err
	}
	e.tiers.count(func(s *TierStats) { s.Compiled++ })
	a := Artifact{Name: name, Data: data}
	if err := e.install(m, a); err != nil {
		return nil, Artifact{}, err
	}
	entry, err := e.compileNow(ctx, m)
	if err != nil {
		e.disk.forgetNative(e, m)
		return nil, Artifact{}, err
	}
	return entry, a, nil
}

// saveArtifact gives the store what this node compiled, with its MAC, and
// reports whether it did.
func (e *Engine) saveArtifact(ctx context.Context, share *Sharing, key ArtifactKey, a Artifact) bool {
	if int64(len(a.Data)) > e.maxArtifact {
		return false
	}
	a.MAC = hex.EncodeToString(artifactMAC(share.Key, key, a.Name, a.Data))
	if err := share.Store.SaveArtifact(ctx, key, a); err != nil {
		e.tiers.count(func(s *TierStats) { s.ArtifactErrors++ })
		return false
	}
	e.tiers.count(func(s *TierStats) { s.ArtifactsSaved++ })
	return true
}

// releaseClaim drops this node's claim on key. It runs when the compile
// is over, whatever the caller's context, so it has a context of its own.
func (e *Engine) releaseClaim(share *Sharing, key ArtifactKey) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.bgCtx), e.artifactLease)
	defer cancel()
	if err := share.Store.ReleaseArtifact(ctx, key); err != nil {
		e.tiers.count(func(s *TierStats) { s.ArtifactErrors++ }) // the lease runs out
	}
}

// fromStore returns m's compiled form made from the stored artifact, or nil
// when this node must compile it: there is none and nobody else is
// compiling it, it is refused, or the store fails. forAll says this node
// is to store what it compiles: it holds the claim, or it replaces a
// refused artifact.
func (e *Engine) fromStore(ctx context.Context, share *Sharing, key ArtifactKey, m *Module) (entry *compiledEntry, forAll bool) {
	var tick *time.Ticker
	for {
		entry, found, err := e.loadStored(ctx, share, key, m)
		if found {
			return entry, err != nil
		}
		if err != nil {
			return nil, false
		}
		claimed, err := share.Store.ClaimArtifact(ctx, key, e.artifactLease)
		if err != nil {
			e.tiers.count(func(s *TierStats) { s.ArtifactErrors++ })
			return nil, false
		}
		if claimed {
			return nil, true
		}
		// Another node is compiling it: its artifact will be here sooner
		// than ours. Calls meanwhile run on the interpreter.
		if tick == nil {
			tick = time.NewTicker(e.artifactPoll)
			defer tick.Stop()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// loadStored reads key's artifact and makes m's compiled form of it, on a
// compile slot, so that a node starting with many modules does not hold
// many artifacts in memory at once. found is false when none is stored;
// an error means the store failed or the artifact was refused.
func (e *Engine) loadStored(ctx context.Context, share *Sharing, key ArtifactKey, m *Module) (entry *compiledEntry, found bool, err error) {
	if err := e.acquireSlot(ctx); err != nil {
		return nil, false, err
	}
	defer e.releaseSlot()
	a, err := share.Store.LoadArtifact(ctx, key, e.maxArtifact)
	if err != nil {
		e.tiers.count(func(s *TierStats) { s.ArtifactErrors++ })
		return nil, false, err
	}
	if a == nil {
		return nil, false, nil
	}
	entry, err = e.useArtifact(ctx, share.Key, key, m, *a)
	if err != nil {
		e.tiers.count(func(s *TierStats) { s.ArtifactsRejected++ })
		share.Log.WarnContext(ctx, "compiled artifact refused; compiling the module here", "module", key.ModuleHash, "error", err)
		return nil, true, err
	}
	e.tiers.count(func(s *TierStats) { s.ArtifactsLoaded++ })
	return entry, true, nil
}

// useArtifact checks a stored artifact (its name's form, its size, its
// MAC, then its header), and only then puts it in wazero's cache and
// compiles m from it. A file wazero refuses is removed.
func (e *Engine) useArtifact(ctx context.Context, secret []byte, key ArtifactKey, m *Module, a Artifact) (*compiledEntry, error) {
	header := append([]byte("WAZEVO"), byte(len(key.WazeroVersion)))
	header = append(header, key.WazeroVersion...)
	switch {
	case !cacheName.MatchString(a.Name):
		return nil, fmt.Errorf("sandbox: artifact name %q is not a cache name", a.Name)
	case int64(len(a.Data)) > e.maxArtifact:
		return nil, fmt.Errorf("sandbox: artifact of %d bytes is past the bound", len(a.Data))
	case !authentic(secret, key, a):
		return nil, errors.New("sandbox: artifact's MAC does not match: not written by a node of this cluster for this module")
	case !bytes.HasPrefix(a.Data, header):
		return nil, errors.New("sandbox: artifact is from another wazero")
	}
	if err := e.install(m, a); err != nil {
		return nil, err
	}
	entry, err := e.compileNow(ctx, m)
	if err != nil {
		e.disk.forgetNative(e, m)
		return nil, err
	}
	return entry, nil
}

// install writes an artifact into wazero's cache directory, and a note
// that m's compiled form is there, so a restart loads it synchronously.
func (e *Engine) install(m *Module, a Artifact) error {
	dir := filepath.Join(e.disk.dir, e.native.sub)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: installing compiled module: %w", err)
	}
	if err := writeFile(dir, a.Name, a.Data); err != nil {
		return fmt.Errorf("sandbox: installing compiled module: %w", err)
	}
	if err := writeFile(e.meteredDir, m.Hash+nativeSuffix, []byte(a.Name)); err != nil {
		return fmt.Errorf("sandbox: noting compiled module: %w", err)
	}
	if err := e.disk.trim(); err != nil {
		return fmt.Errorf("sandbox: trimming the module cache: %w", err)
	}
	return nil
}

// writeFile writes then renames, so a concurrent reader never sees half a file.
func writeFile(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Close(), os.Rename(tmp.Name(), filepath.Join(dir, name))); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	return nil
}

const (
	nativeSuffix  = ".native" // next to an instrumented module: its compiled file's name
	scratchPrefix = "compile-"
)

// hasNative reports whether wazero's cache holds m's compiled form, per
// the note install left.
func (c *diskCache) hasNative(e *Engine, m *Module) bool {
	if e.native.learn(e) != nil {
		return false
	}
	name, err := os.ReadFile(filepath.Join(e.meteredDir, m.Hash+nativeSuffix))
	if err != nil || !cacheName.Match(name) {
		return false
	}
	_, err = os.Stat(filepath.Join(c.dir, e.native.sub, string(name)))
	return err == nil
}

// forgetNative removes m's compiled file and its note.
func (c *diskCache) forgetNative(e *Engine, m *Module) {
	note := filepath.Join(e.meteredDir, m.Hash+nativeSuffix)
	if name, err := os.ReadFile(note); err == nil && cacheName.Match(name) {
		_ = os.Remove(filepath.Join(c.dir, e.native.sub, string(name))) // absent is fine
	}
	_ = os.Remove(note) // absent is fine; a stale note only costs a failed load
}
