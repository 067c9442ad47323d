// Package devlibrary puts the curated library of a source checkout
// (toolkits/library) into a development instance's catalogue at start, so
// that a newcomer can add a library tool from the browser without building,
// signing and pushing modules with the CLI. Each module is built by the
// node's build pool, signed with the development library key (which a
// development node trusts) and registered as an operator's upload would be:
// module row, library row and audit row in one transaction.
//
// The work is the node's background work, never the service's: a failure
// is recorded and logged, and the node serves on. It is idempotent: a
// module's version is derived from its build's source key (its files, the
// toolkit and the Go toolchain), so a module already registered at that
// version is skipped, and a second start with nothing changed does nothing.
// Of several nodes starting together one does the work, holding a lease
// on the store's dev_library row, which also keeps the progress every node's
// library page reads (GET /api/v1/library/dev).
//
// pkg/service runs it only in development; production never builds or
// trusts the development key.
package devlibrary

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
)

// Actor is the audit actor and uploader of the modules registered here.
const Actor = "kiln:dev-library"

// DefaultLease is how long the node doing the work holds it between two
// progress writes: longer than one build may take (build.DefaultTimeout
// is two minutes), so a live node never loses it to another.
const DefaultLease = 5 * time.Minute

// minTiers are the plans the library's modules need; a module not named
// here is on every plan. httpjson reaches the network, which the pro plan
// sells, and so shows a free account what an upgrade looks like.
var minTiers = map[string]string{"httpjson": tier.Pro}

// Config is what the work needs. Store, Engine, Builds and Key are
// required.
type Config struct {
	Store  *store.Store
	Engine *sandbox.Engine
	Builds *build.Pool
	// Key signs the modules: the development key the node trusts.
	Key *signing.PrivateKey
	// Dir is the library's source (toolkits/library); empty: Locate from
	// the working directory.
	Dir string
	// Lease is DefaultLease when zero.
	Lease time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnProgress, when set, sees every status this node writes, in order.
	OnProgress func(Status)
}

// Library does the work, once per Run.
type Library struct {
	cfg   Config
	log   *slog.Logger
	token string
}

// New checks cfg.
func New(cfg Config) (*Library, error) {
	if cfg.Store == nil || cfg.Engine == nil || cfg.Builds == nil || cfg.Key == nil {
		return nil, errors.New("devlibrary: Store, Engine, Builds and Key are required")
	}
	cfg.Lease = cmp.Or(cfg.Lease, DefaultLease)
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return &Library{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()), token: hex.EncodeToString(b[:])}, nil
}

// Locate finds toolkits/library in the source checkout around dir (the
// working directory when empty): dir or one of its parents holds it. ""
// when Kiln does not run from a checkout.
func Locate(dir string) string {
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return ""
		}
	}
	for {
		lib := filepath.Join(dir, "toolkits", "library")
		if mod, err := os.ReadFile(filepath.Join(lib, "go.mod")); err == nil &&
			strings.HasPrefix(string(mod), "module github.com/kilnhq/kiln/toolkits/library") {
			return lib
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Run builds and registers what the catalogue lacks. It returns when the
// work is done, another node holds it, or ctx ends; it reports failures in
// the status and the log, never to the caller, so that the node serves on.
func (l *Library) Run(ctx context.Context) {
	dir := l.cfg.Dir
	if dir == "" {
		dir = Locate("")
	}
	if dir == "" {
		cwd, _ := os.Getwd()
		l.finish(ctx, Status{State: StateAbsent, Message: "Kiln is not running from a source checkout (no toolkits/library above " + cwd +
			"), so the curated library was not built. Run kiln serve from the repository, or upload modules with kiln library push."})
		return
	}
	mods, sources, err := l.plan(ctx, dir)
	if ctx.Err() != nil {
		return // the node stops: the next start plans again
	}
	if err != nil {
		l.log.Error("development library: reading the sources", "dir", dir, "error", err)
		l.finish(ctx, Status{State: StateFailed, Message: "Kiln could not read the library's sources: " + err.Error()})
		return
	}
	if !slices.ContainsFunc(mods, func(m Module) bool { return m.State == ModulePending }) {
		l.log.Debug("development library: every module is registered", "modules", len(mods))
		return
	}
	if err := l.work(ctx, mods, sources); err != nil && ctx.Err() == nil {
		l.log.Error("development library", "error", err)
	}
}

// plan reads each module's source (returned by name) and its version, and
// marks those the catalogue has at that version.
func (l *Library) plan(ctx context.Context, dir string) ([]Module, map[string]map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var mods []Module
	sources := map[string]map[string][]byte{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files, err := build.ReadSource(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if len(files) == 0 {
			continue
		}
		key, err := l.cfg.Builds.SourceKey(ctx, files)
		if err != nil {
			return nil, nil, err
		}
		m := Module{Name: e.Name(), Version: "0.0.0-dev." + key[:12], MinTier: cmp.Or(minTiers[e.Name()], tier.Free), State: ModulePending}
		sources[m.Name] = files
		_, err = l.cfg.Store.LibraryModule(ctx, m.Name, m.Version)
		switch {
		case err == nil:
			m.State = ModulePresent
		case !errors.Is(err, store.ErrNotFound):
			return nil, nil, err
		}
		mods = append(mods, m)
	}
	return mods, sources, nil
}

// work holds the lease while it builds and registers the pending modules
// one by one, writing the progress before and after each.
func (l *Library) work(ctx context.Context, mods []Module, sources map[string]map[string][]byte) error {
	now := l.cfg.Store.Now()
	st := Status{State: StateBuilding, Total: len(mods), Modules: mods, StartedAt: &now}
	claimed, err := l.cfg.Store.ClaimDevLibrary(ctx, l.token, now.Add(l.cfg.Lease), st.document())
	if err != nil || !claimed {
		if err == nil {
			l.log.Info("development library: another node builds it")
		}
		return err
	}
	l.progress(st)
	failed := 0
	for i := range st.Modules {
		m := &st.Modules[i]
		if m.State != ModulePending {
			continue
		}
		st.Current, m.State = i+1, ModuleBuilding
		if err := l.save(ctx, st); err != nil {
			return l.stop(ctx, st, err)
		}
		if err := l.add(ctx, m, sources[m.Name]); err != nil {
			if ctx.Err() != nil {
				return l.stop(ctx, st, ctx.Err())
			}
			failed++
			m.State, m.Error, m.Output = ModuleFailed, failure(err), compilerOutput(err)
			l.log.Warn("development library: a module failed", "module", m.Name, "error", err)
		} else if m.State == ModuleBuilding {
			m.State = ModuleRegistered
		}
	}
	st.State, st.Current = StateDone, 0
	if failed > 0 {
		st.State, st.Message = StateFailed, fmt.Sprintf("%d of %d modules failed; the others are in the library.", failed, len(st.Modules))
	}
	l.finish(ctx, st)
	return nil
}

// stop records that the work stopped early (the node is shutting down, or
// lost its lease): the next start takes it up again.
func (l *Library) stop(ctx context.Context, st Status, err error) error {
	st.State, st.Message = StateStopped, "Kiln stopped before the library was complete; the next start finishes it."
	l.finish(context.WithoutCancel(ctx), st)
	return err
}

// finish writes the final status and releases the work.
func (l *Library) finish(ctx context.Context, st Status) {
	now := l.cfg.Store.Now()
	st.FinishedAt = &now
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := l.cfg.Store.SaveDevLibrary(ctx, l.token, nil, st.document())
	if errors.Is(err, store.ErrNotFound) && st.StartedAt == nil {
		// A status without work (no checkout): written unless another node
		// holds the work.
		var claimed bool
		if claimed, err = l.cfg.Store.ClaimDevLibrary(ctx, l.token, now, st.document()); err == nil && claimed {
			err = l.cfg.Store.SaveDevLibrary(ctx, l.token, nil, st.document())
		}
	}
	if err != nil {
		l.log.Warn("development library: recording its progress", "error", err)
		return
	}
	l.progress(st)
}

// save writes the progress and renews the lease.
func (l *Library) save(ctx context.Context, st Status) error {
	until := l.cfg.Store.Now().Add(l.cfg.Lease)
	if err := l.cfg.Store.SaveDevLibrary(ctx, l.token, &until, st.document()); err != nil {
		return fmt.Errorf("devlibrary: the lease was lost: %w", err)
	}
	l.progress(st)
	return nil
}

func (l *Library) progress(st Status) {
	if l.cfg.OnProgress != nil {
		st.Modules = slices.Clone(st.Modules)
		l.cfg.OnProgress(st)
	}
}

// document encodes st for the store; a Status always encodes.
func (st Status) document() store.JSON {
	b, _ := json.Marshal(st)
	return b
}
