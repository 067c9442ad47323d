package mcphost_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
)

// postCall sends one tools/call of echo and returns the status and body.
func postCall(t *testing.T, url, key string) (int, string) {
	t.Helper()
	resp := rawPost(t, url, key, callBody(1))
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// accessCase runs the access changes of TestAccessChanges: change is made
// through store on (and announced by) one node, and must apply on the node
// serving url, which has cached the key and the plan.
func accessCase(t *testing.T, changer *store.Store, url, key string, srv server) {
	t.Helper()
	ctx := context.Background()
	catalog := tier.NewCatalog(changer)
	mid := bigPlan
	mid.Name, mid.Rank = "mid-test", 11
	if err := catalog.SetPlan(ctx, mid); err != nil {
		t.Fatal(err)
	}
	if err := catalog.SetCustomerTier(ctx, srv.CustomerID, mid.Name); err != nil {
		t.Fatal(err)
	}
	ok := func() bool { code, _ := postCall(t, url, key); return code == http.StatusOK }
	waitFor(t, 10*time.Second, "calls succeed on the mid plan", ok)
	for range 3 { // now cached
		if code, body := postCall(t, url, key); code != http.StatusOK {
			t.Fatalf("call: %d %s", code, body)
		}
	}

	// The plan's limits lowered: the serving node applies them.
	mid.CallsPerMinute = 1
	if err := catalog.SetPlan(ctx, mid); err != nil {
		t.Fatal(err)
	}
	limited := func(plan string) func() bool {
		return func() bool {
			code, body := postCall(t, url, key)
			return code == http.StatusTooManyRequests && strings.Contains(body, "the "+plan+" plan allows 1 tool calls")
		}
	}
	waitFor(t, 10*time.Second, "the lowered plan applies", limited(mid.Name))

	// The customer moved to another plan: applies too.
	tiny := bigPlan
	tiny.Name, tiny.Rank, tiny.CallsPerMinute = "tiny-test", 12, 1
	if err := catalog.SetPlan(ctx, tiny); err != nil {
		t.Fatal(err)
	}
	if err := catalog.SetCustomerTier(ctx, srv.CustomerID, tiny.Name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new plan applies", limited(tiny.Name))

	// The key revoked: refused.
	keys, err := changer.ListAPIKeys(ctx, srv.CustomerID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := changer.RevokeAPIKey(ctx, srv.CustomerID, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the revoked key is refused", func() bool {
		code, body := postCall(t, url, key)
		return code == http.StatusUnauthorized && strings.Contains(body, "revoked")
	})
}

// TestAccessChanges: on one node (either store), a key the host has
// cached stops working once revoked, and a plan change applies, without
// any resync (off in these tests): the store's access notifications do it.
func TestAccessChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, envOptions{ipLimit: 100_000})
		srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
		accessCase(t, s, e.url(srv.ID), srv.key, srv)
	})
}

// TestAccessTwoNodes: two hosts on one PostgreSQL database, each with its
// own store. Changes made through node 1's store (a plan lowered, the
// customer moved to another plan, the key revoked) apply on node 2, which
// has the key and the plan cached, with resync off.
func TestAccessTwoNodes(t *testing.T) {
	stores, ok := storetest.PostgresNodes(t, 2)
	if !ok {
		t.Skipf("%s is not set; PostgreSQL tests are skipped", storetest.EnvURL)
	}
	s1, s2 := stores[0], stores[1]
	box := newBox(t)
	node1 := newEnv(t, s1, envOptions{box: box, ipLimit: 100_000})
	node2 := newEnv(t, s2, envOptions{box: box, ipLimit: 100_000})
	srv := node1.addServer(bigPlan.Name, toolSpec{"echo", "echo", toolsModule(t)})
	accessCase(t, s1, node2.url(srv.ID), srv.key, srv)
}
