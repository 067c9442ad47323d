package devlibrary_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/devlibrary"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

var modules testmodules.ModuleCache

func TestMain(m *testing.M) { os.Exit(modules.Run(m)) }

// newLibrary is the work over s with a real engine and build pool (the
// test binary's module cache, the developer's GOCACHE) and key; every
// status it writes goes to onProgress.
func newLibrary(t *testing.T, s *store.Store, dir string, key *signing.PrivateKey, onProgress func(devlibrary.Status)) *devlibrary.Library {
	t.Helper()
	engine, err := sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: modules.Dir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	builder := &build.GoBuilder{Engine: engine, GoCache: testmodules.GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
	l, err := devlibrary.New(devlibrary.Config{Store: s, Engine: engine, Builds: build.NewPool(build.PoolConfig{Builder: builder, Workers: 2}),
		Key: key, Dir: dir, OnProgress: onProgress})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// record appends every status to events.
func record(events *[]devlibrary.Status) func(devlibrary.Status) {
	return func(st devlibrary.Status) { *events = append(*events, st) }
}

func newKey(t *testing.T) *signing.PrivateKey {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &k
}

// TestDevLibraryBuildsOnce builds the real curated library with the real
// toolchain: every module is registered, signed by the development key and
// audited, the progress counts through the modules one by one, and a second
// start (another node, nothing changed) does nothing at all.
func TestDevLibraryBuildsOnce(t *testing.T) {
	s := storetest.SQLite(t)
	dir := filepath.Join(testmodules.Root(), "toolkits", "library")
	key := newKey(t)
	var events []devlibrary.Status
	newLibrary(t, s, dir, key, record(&events)).Run(t.Context())

	want := []string{"csvjson", "httpjson", "text", "timezone", "units"}
	if len(events) < len(want)+2 {
		t.Fatalf("%d progress events, want the start, one per module and the end: %+v", len(events), events)
	}
	for i, name := range want {
		ev := events[i+1]
		if ev.State != devlibrary.StateBuilding || ev.Current != i+1 || ev.Total != len(want) || ev.Modules[i].Name != name || ev.Modules[i].State != devlibrary.ModuleBuilding {
			t.Errorf("event %d: %+v, want building %d of %d (%s)", i+1, ev, i+1, len(want), name)
		}
	}
	last := events[len(events)-1]
	if last.State != devlibrary.StateDone || last.FinishedAt == nil {
		t.Fatalf("last event %+v, want done", last)
	}
	libs, err := s.ListLibraryModules(t.Context(), false)
	if err != nil || len(libs) != len(want) {
		t.Fatalf("catalogue %+v %v, want the %d modules", libs, err, len(want))
	}
	for i, l := range libs {
		m, err := s.ModuleData(t.Context(), l.ModuleHash)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := signing.Verify([]signing.PublicKey{key.Public()}, m, l.Signature); err != nil {
			t.Errorf("%s: the signature does not verify: %v", l.Name, err)
		}
		if l.Name != want[i] || !strings.HasPrefix(l.Version, "0.0.0-dev.") || l.UploadedBy != devlibrary.Actor || l.Description == "" {
			t.Errorf("library row %+v", l)
		}
		if wantTier := map[bool]string{true: "pro", false: "free"}[l.Name == "httpjson"]; l.MinTier != wantTier {
			t.Errorf("%s is for %s, want %s", l.Name, l.MinTier, wantTier)
		}
	}
	audit, err := s.ListAudit(t.Context(), store.AuditFilter{Action: store.ActionLibraryUpload})
	if err != nil || len(audit) != len(want) || audit[0].Actor != devlibrary.Actor {
		t.Fatalf("audit %+v %v", audit, err)
	}

	before, err := s.DevLibrary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var again []devlibrary.Status
	newLibrary(t, s, dir, key, record(&again)).Run(t.Context())
	after, err := s.DevLibrary(t.Context())
	if err != nil || len(again) != 0 || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("the second start wrote %+v (row %v → %v, %v); it should do nothing", again, before.UpdatedAt, after.UpdatedAt, err)
	}
}

// TestDevLibraryFailureIsRecorded: a module that does not compile is
// marked failed with the compiler's line, the others go on, and Run
// returns as usual.
func TestDevLibraryFailureIsRecorded(t *testing.T) {
	dir := t.TempDir()
	src := "package main\n\nfunc main() {\n\tundefinedThing()\n}\n"
	if err := os.MkdirAll(filepath.Join(dir, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken", "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s := storetest.SQLite(t)
	var events []devlibrary.Status
	newLibrary(t, s, dir, newKey(t), record(&events)).Run(t.Context())
	last := events[len(events)-1]
	if last.State != devlibrary.StateFailed || len(last.Modules) != 1 || last.Modules[0].State != devlibrary.ModuleFailed {
		t.Fatalf("last event %+v, want the module failed", last)
	}
	if out := last.Modules[0].Output; !strings.Contains(out, "main.go:4") || !strings.Contains(out, "undefinedThing") {
		t.Errorf("the compiler output %q lacks the line", out)
	}
	row, err := s.DevLibrary(t.Context())
	if err != nil || !strings.Contains(string(row.Status), `"failed"`) || row.LeaseToken != nil {
		t.Errorf("stored %s %v, want the failure recorded and the work released", row.Status, err)
	}
}

// TestDevLibraryOneNode: of two nodes, one holds the work; the other gets
// it only once the first one's lease has expired.
func TestDevLibraryOneNode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clock := storetest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		s = s.WithClock(clock.Now)
		ctx := t.Context()
		until := clock.Now().Add(time.Minute)
		if ok, err := s.ClaimDevLibrary(ctx, "a", until, store.JSON(`{"state":"building"}`)); err != nil || !ok {
			t.Fatalf("first claim: %v %v", ok, err)
		}
		if ok, err := s.ClaimDevLibrary(ctx, "b", until, store.JSON(`{}`)); err != nil || ok {
			t.Fatalf("a second node claimed held work: %v %v", ok, err)
		}
		if err := s.SaveDevLibrary(ctx, "b", &until, store.JSON(`{}`)); err == nil {
			t.Fatal("a node without the lease saved progress")
		}
		clock.Add(2 * time.Minute)
		if ok, err := s.ClaimDevLibrary(ctx, "b", clock.Now().Add(time.Minute), store.JSON(`{}`)); err != nil || !ok {
			t.Fatalf("claim after the lease expired: %v %v", ok, err)
		}
		if err := s.SaveDevLibrary(ctx, "a", nil, store.JSON(`{}`)); err == nil {
			t.Fatal("the node that lost its lease saved progress")
		}
		if err := s.SaveDevLibrary(ctx, "b", nil, store.JSON(`{"state":"done"}`)); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ClaimDevLibrary(ctx, "c", clock.Now().Add(time.Minute), store.JSON(`{}`)); err != nil || !ok {
			t.Fatalf("claim of released work: %v %v", ok, err)
		}
	})
}

// TestLocate finds the library above a directory of the checkout, and
// nothing outside one.
func TestLocate(t *testing.T) {
	root := testmodules.Root()
	if got := devlibrary.Locate(filepath.Join(root, "pkg", "web")); got != filepath.Join(root, "toolkits", "library") {
		t.Errorf("Locate from pkg/web = %q", got)
	}
	if got := devlibrary.Locate(t.TempDir()); got != "" {
		t.Errorf("Locate outside a checkout = %q, want none", got)
	}
}

// TestDevLibraryStopsOnShutdown: the node shutting down while a module
// builds ends Run at once, records that the work stopped, registers
// nothing half-done and releases the work for the next start.
func TestDevLibraryStopsOnShutdown(t *testing.T) {
	s := storetest.SQLite(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var events []devlibrary.Status
	newLibrary(t, s, filepath.Join(testmodules.Root(), "toolkits", "library"), newKey(t), func(st devlibrary.Status) {
		events = append(events, st)
		if st.State == devlibrary.StateBuilding && st.Current == 1 {
			cancel() // the node stops while the first module builds
		}
	}).Run(ctx)
	last := events[len(events)-1]
	if last.State != devlibrary.StateStopped || last.Modules[0].State != devlibrary.ModuleBuilding {
		t.Fatalf("last event %+v, want stopped during the first build", last)
	}
	if libs, err := s.ListLibraryModules(t.Context(), true); err != nil || len(libs) != 0 {
		t.Fatalf("registered %+v %v after stopping at the first build", libs, err)
	}
	if row, err := s.DevLibrary(t.Context()); err != nil || row.LeaseToken != nil {
		t.Fatalf("row %+v %v, want the work released", row, err)
	}
	if _, err := devlibrary.New(devlibrary.Config{Store: s}); err == nil {
		t.Error("New accepted a config without its engine, builds and key")
	}
}
