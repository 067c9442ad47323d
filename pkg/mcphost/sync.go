package mcphost

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// How nodes learn of changes. Every Deploy, Remove and Reload sends a store
// notification (NOTIFY on PostgreSQL) all nodes listen to, with the
// server's ID; each node then re-reads that server. NOTIFY is delivered only to
// connected listeners, so a node that was disconnected, or a notification
// lost with a connection, would leave a node serving an old version: a
// periodic resync compares every server with the database (by fingerprint,
// without rebuilding unchanged ones), and a reconnected listener triggers
// one at once. SQLite serves one node and needs none of this.

// changesTopic is the store notification topic deploys are announced on.
const changesTopic = "mcphost"

// notify tells the other nodes that a server changed (through the store:
// NOTIFY on PostgreSQL, nothing on SQLite, which serves one node).
func (h *Host) notify(ctx context.Context, serverID string) error {
	if err := h.store.Notify(ctx, changesTopic, h.node+" "+serverID); err != nil {
		return fmt.Errorf("mcphost: notifying other nodes of server %s: %w", serverID, err)
	}
	return nil
}

// Run loads every server in the background (requests for a server not yet
// loaded load it on demand), then follows changes: notifications from other
// nodes on PostgreSQL, and a periodic resync. It returns when ctx ends.
func (h *Host) Run(ctx context.Context) error {
	// Compiled modules are shared through the store, so a deploy is
	// compiled once for all nodes (sandbox/artifact.go).
	if err := ShareArtifacts(h.engine, h.store, h.cfg.Secrets, h.log); err != nil {
		return err
	}
	// Listen before the first resync, so that no change made between the
	// two goes unheard.
	notes, err := h.store.Listen(ctx, changesTopic, func(err error) {
		h.log.WarnContext(ctx, "change notifications", "error", err)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("mcphost: listening for changes: %w", err)
	}
	access, err := h.listenAccess(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { h.followAccess(access) })
	resync := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.resyncAll(ctx)
			if err != nil && ctx.Err() == nil {
				h.log.ErrorContext(ctx, "resync", "error", err)
			}
			if err == nil {
				h.loadedOnce.Do(func() { close(h.loaded) })
			}
		}()
	}
	resync()

	var tick <-chan time.Time
	if h.cfg.ResyncInterval > 0 {
		t := time.NewTicker(h.cfg.ResyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			resync()
		case n, ok := <-notes:
			if !ok {
				return nil // ctx ended
			}
			if n.Reconnected {
				// Notifications may have been lost meanwhile.
				h.log.WarnContext(ctx, "change notifications reconnected; resyncing")
				resync()
				continue
			}
			node, serverID, ok := strings.Cut(n.Payload, " ")
			if !ok || node == h.node {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := h.sync(ctx, serverID, false); err != nil && ctx.Err() == nil {
					h.log.ErrorContext(ctx, "applying a change from another node", "server", serverID, "error", err)
				}
			}()
		}
	}
}

// resyncAll compares every server with the database: new ones are loaded,
// changed ones rebuilt, deleted ones dropped. Loads run on CompileWorkers
// goroutines, since compiling is what takes time.
func (h *Host) resyncAll(ctx context.Context) error {
	ids, err := h.allServerIDs(ctx)
	if err != nil {
		return err
	}
	exists := make(map[string]bool, len(ids))
	for _, id := range ids {
		exists[id] = true
	}
	for _, id := range h.reg.ids() {
		if !exists[id] {
			// Deleted while no notification reached us; sync confirms it.
			ids = append(ids, id)
		}
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range h.cfg.CompileWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if _, err := h.sync(ctx, id, false); err != nil && ctx.Err() == nil {
					h.log.ErrorContext(ctx, "loading a server", "server", id, "error", err)
				}
			}
		}()
	}
feed:
	for _, id := range ids {
		select {
		case work <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	h.retainModules()
	return nil
}

// allServerIDs lists every server. The store lists servers per customer, so
// this walks the customers.
func (h *Host) allServerIDs(ctx context.Context) ([]string, error) {
	customers, err := h.store.ListCustomers(ctx)
	if err != nil {
		return nil, fmt.Errorf("mcphost: %w", err)
	}
	var ids []string
	for _, c := range customers {
		servers, err := h.store.ListServers(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("mcphost: %w", err)
		}
		for _, s := range servers {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// retainModules lets go of modules no deployed server uses any more.
func (h *Host) retainModules() {
	used := map[string]bool{}
	for _, id := range h.reg.ids() {
		if d := h.reg.get(id); d != nil {
			for _, t := range d.tools {
				used[t.module.Hash] = true
			}
		}
	}
	h.modules.retain(used)
}
