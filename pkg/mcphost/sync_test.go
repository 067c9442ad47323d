package mcphost_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func toolNames(t *testing.T, s *mcp.ClientSession) []string {
	t.Helper()
	list, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// TestTwoNodes: two hosts on one PostgreSQL database, each with its own
// store connection and HTTP server. A deploy through node 1 is served by
// node 2 within a second, before any request reaches node 2; a change and
// a removal through node 2 reach node 1 the same way. Resync is off, so
// only notifications can do this.
func TestTwoNodes(t *testing.T) {
	stores, ok := storetest.PostgresNodes(t, 2)
	if !ok {
		t.Skipf("%s is not set; PostgreSQL tests are skipped", storetest.EnvURL)
	}
	s1, s2 := stores[0], stores[1]
	ctx := context.Background()
	box := newBox(t)
	node1 := newEnv(t, s1, envOptions{box: box})
	node2 := newEnv(t, s2, envOptions{box: box})
	mod := toolsModule(t)

	// The API's order: rows first, then Deploy on the node that served
	// the request. Node 2 has not seen the server: its startup load ran on
	// an empty database, resync is off and no request reaches it, so only
	// the notification can tell it.
	cust := store.Customer{Name: "two nodes", Tier: bigPlan.Name}
	if err := s1.CreateCustomer(ctx, &cust); err != nil {
		t.Fatal(err)
	}
	srv := node1.addServerRows(cust.ID, toolSpec{"echo", "echo", mod})
	if node2.host.Serving(srv.ID) {
		t.Fatal("node 2 serves a server nobody deployed")
	}
	if err := node1.host.Deploy(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, time.Second, "node 2 serves the server node 1 deployed", func() bool { return node2.host.Serving(srv.ID) })
	t.Logf("node 2 served the deploy %v after node 1's Deploy returned", time.Since(start))
	on2 := connect(t, node2.url(srv.ID), srv.key)
	if r := call(t, on2, "echo", map[string]any{"text": "via node 2"}); r.IsError {
		t.Fatal(text(r))
	}

	// A new tool added through node 2 shows on node 1.
	node2.addTool(srv.ID, toolSpec{"say", "echo", mod})
	if err := node2.host.Reload(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	on1 := connect(t, node1.url(srv.ID), srv.key)
	waitFor(t, time.Second, "node 1 lists the tool added on node 2", func() bool {
		return slices.Equal(toolNames(t, on1), []string{"echo", "say"})
	})

	// Removed through node 2: node 1 stops serving it.
	if err := s2.DeleteServer(ctx, srv.CustomerID, srv.ID); err != nil {
		t.Fatal(err)
	}
	if err := node2.host.Remove(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	waitFor(t, time.Second, "node 1 drops the server removed on node 2", func() bool { return !node1.host.Serving(srv.ID) })
	t.Logf("node 1 dropped the server %v after node 2 removed it", time.Since(start))
	if err := node1.host.Deploy(ctx, srv.ID); !errors.Is(err, mcphost.ErrServerNotFound) {
		t.Fatalf("deploying a deleted server: %v", err)
	}
}

// TestResyncConverges: a change no notification announced (a node that
// was down, a lost connection) is picked up by the periodic resync,
// deletions included.
func TestResyncConverges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newEnv(t, s, envOptions{resync: 100 * time.Millisecond})
		mod := toolsModule(t)
		srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", mod})
		session := connect(t, e.url(srv.ID), srv.key)

		// Behind the host's back: a tool added, then a tool removed.
		e.addTool(srv.ID, toolSpec{"say", "echo", mod})
		waitFor(t, 2*time.Second, "the added tool appears", func() bool {
			return slices.Equal(toolNames(t, session), []string{"echo", "say"})
		})
		echo, err := s.ToolByName(ctx, srv.ID, "echo")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTool(ctx, srv.ID, echo.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, "the deleted tool disappears", func() bool {
			return slices.Equal(toolNames(t, session), []string{"say"})
		})
		// A server created and deleted behind its back.
		other := store.Server{CustomerID: srv.CustomerID, Name: "unannounced"}
		if err := s.CreateServer(ctx, &other, func(int) error { return nil }); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, "the new server is loaded", func() bool { return e.host.Serving(other.ID) })
		if err := s.DeleteServer(ctx, srv.CustomerID, other.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, "the deleted server is dropped", func() bool { return !e.host.Serving(other.ID) })
	})
}

// TestLiveUpdate: a new version of a tool is served from the next request
// after Reload, and calls use the new module.
func TestLiveUpdate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := e.addServer(bigPlan.Name, toolSpec{"greet", "echo", toolsModule(t)})
	session := connect(t, e.url(srv.ID), srv.key)
	if r := call(t, session, "greet", map[string]any{"text": "v1"}); r.IsError || !strings.Contains(text(r), `"v1"`) {
		t.Fatalf("v1: %s", text(r))
	}
	tool, err := e.store.ToolByName(ctx, srv.ID, "greet")
	if err != nil {
		t.Fatal(err)
	}
	code := "package main"
	v := store.ToolVersion{ToolID: tool.ID, ModuleHash: store.ModuleHash(conformanceModule(t)), ModuleTool: "test_simple_text",
		Source: store.SourceGo, SourceCode: &code, CreatedBy: "test"}
	m := store.Module{Manifest: store.JSON(`{}`)}
	if err := e.store.PutModule(ctx, &m, conformanceModule(t)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddToolVersion(ctx, &v); err != nil {
		t.Fatal(err)
	}
	if err := e.host.Reload(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	if r := call(t, session, "greet", map[string]any{}); r.IsError || text(r) != "This is a simple text response for testing." {
		t.Fatalf("v2: %s", text(r))
	}
}

// TestCancel: a client that gives up cancels the module at once; the
// execution log says so.
func TestCancel(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOptions{})
	srv := e.addServer(bigPlan.Name, toolSpec{"spin", "spin", toolsModule(t)})
	session := connect(t, e.url(srv.ID), srv.key)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "spin", Arguments: map[string]any{}}); err == nil {
		t.Fatal("a canceled call returned a result")
	}
	waitFor(t, 3*time.Second, "the canceled call in the log", func() bool { return len(e.executions(srv)) == 1 })
	x := e.executions(srv)[0]
	if x.Outcome != "canceled" || x.Duration > 3*time.Second {
		t.Fatalf("execution %+v (the plan's timeout is %v)", x, bigPlan.Timeout)
	}
}

// TestStartupLoadsServers: a starting host compiles every existing server
// in the background, before any request for it.
func TestStartupLoadsServers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		first := newEnv(t, s, envOptions{})
		cust := store.Customer{Name: "startup", Tier: bigPlan.Name}
		if err := s.CreateCustomer(context.Background(), &cust); err != nil {
			t.Fatal(err)
		}
		srv := first.addServerRows(cust.ID, toolSpec{"echo", "echo", toolsModule(t)})
		second := newEnv(t, s, envOptions{}) // returns once Loaded is closed
		if !second.host.Serving(srv.ID) {
			t.Fatal("the starting host did not load the existing server")
		}
		if first.host.Serving(srv.ID) {
			t.Fatal("the first host loaded a server nobody announced")
		}
	})
}
