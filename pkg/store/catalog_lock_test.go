package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// catalogModule stores a module whose manifest declares a prompt.
func catalogModule(t *testing.T, s *store.Store, label, prompt string) store.Module {
	t.Helper()
	doc := fmt.Sprintf(`{"abi":2,"tools":[{"name":"t","inputSchema":{"type":"object"}}],`+
		`"prompts":[{"name":%q,"messages":[{"role":"user","content":{"type":"text","text":"hi"}}]}]}`, prompt)
	m := store.Module{Manifest: store.JSON(doc)}
	if err := s.PutModule(t.Context(), &m, []byte(label)); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCatalogCheckSerialisesDeploys: two deploys that change different
// tools of one server, each bringing the same prompt, run at once on
// PostgreSQL. The second's check waits for the first to commit and then
// finds the clash; without the lock on the server it would check without
// the first's module and both would commit.
func TestCatalogCheckSerialisesDeploys(t *testing.T) {
	nodes, ok := storetest.PostgresNodes(t, 2)
	if !ok {
		t.Skip(storetest.EnvURL + " is not set")
	}
	s1, s2 := nodes[0], nodes[1]
	ctx := t.Context()
	c := customer(t, s1)
	srv := newServer(t, s1, c.ID, "catalog")
	plain := catalogModule(t, s1, "plain", "other")
	a, _ := newTool(t, s1, srv.ID, "a", plain.Hash)
	b, _ := newTool(t, s1, srv.ID, "b", plain.Hash)
	m1, m2 := catalogModule(t, s1, "one", "greet"), catalogModule(t, s1, "two", "greet")
	deploy := func(s *store.Store, tool store.Tool, m store.Module, checked func()) error {
		return s.InTx(ctx, func(tx *store.Store) error {
			v := store.ToolVersion{ToolID: tool.ID, ModuleHash: m.Hash, ModuleTool: "t", Source: store.SourceGo,
				SourceCode: ptr("package main"), CreatedBy: "user:test"}
			if err := tx.AddToolVersion(ctx, &v); err != nil {
				return err
			}
			if err := tx.CheckCatalog(ctx, srv.ID); err != nil {
				return err
			}
			checked()
			return nil
		})
	}
	first, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- deploy(s1, a, m1, func() { close(first); <-release })
	}()
	select {
	case <-first:
	case err := <-firstDone:
		t.Fatalf("the first deploy ended before its check: %v", err)
	}
	second := make(chan error, 1)
	go func() { second <- deploy(s2, b, m2, func() {}) }()
	// Let the first commit once the second waits on a lock, or once the
	// second has finished without waiting (which the test then refuses).
	waitLockOrDone(t, second)
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	var clash *manifest.ClashError
	if err := <-second; !errors.As(err, &clash) {
		t.Fatalf("the second deploy: %v, want a clash", err)
	}
}

// waitLockOrDone polls pg_stat_activity until a session waits on a lock,
// or done has a value (put back for the caller).
func waitLockOrDone(t *testing.T, done chan error) {
	t.Helper()
	db, err := sql.Open("postgres", os.Getenv(storetest.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			return
		default:
		}
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the second deploy neither waited nor finished")
}
